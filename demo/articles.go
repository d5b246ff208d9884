package demo

// story is one sample article of the demo newsroom. They are invented for
// the demo; any resemblance to real reporting is only in the topics.
type story struct {
	Slug, Title, Author, Category string
	Paragraphs                    []string
}

var stories = []story{
	{
		Slug: "minsk-drone-factory", Title: "Belarus opens a drone assembly line near Minsk", Author: "Demo Desk", Category: "Defence",
		Paragraphs: []string{
			"Belarus has opened a new assembly line for reconnaissance drones on the outskirts of Minsk, the country's defence ministry said on Tuesday.",
			"Officials said the plant would build several hundred light drones a year for border patrols and for export to partner countries.",
			"Analysts in Vilnius and Warsaw said the move would deepen concerns about military cooperation between Minsk and its allies.",
			"The ministry did not name the foreign suppliers of the engines and cameras used in the aircraft.",
		},
	},
	{
		Slug: "harbour-heatwave", Title: "Harbour city braces for a record autumn heatwave", Author: "Weather Team", Category: "Weather",
		Paragraphs: []string{
			"Forecasters warned on Wednesday that temperatures along the coast could break autumn records by the weekend.",
			"The city council opened cooling centres in libraries and asked residents to check on elderly neighbours.",
			"Farmers inland said the late heat was helping the grape harvest but hurting winter wheat sown last month.",
		},
	},
	{
		Slug: "iran-belarus-talks", Title: "Iranian and Belarusian officers hold talks on air defence", Author: "Demo Desk", Category: "Defence",
		Paragraphs: []string{
			"Senior air defence officers from Iran and Belarus met in Tehran this week to discuss training and equipment, both sides said.",
			"The Belarusian delegation toured a radar school and an aircraft repair plant during the three-day visit.",
			"A joint statement spoke of \"shared challenges\" posed by sanctions and promised further meetings next year.",
			"Neither side gave details of any contracts signed during the visit.",
		},
	},
	{
		Slug: "chess-final", Title: "Teenager wins the national chess final in a sudden-death game", Author: "Sports Desk", Category: "Sport",
		Paragraphs: []string{
			"A sixteen-year-old from the northern provinces won the national chess championship on Thursday after a sudden-death playoff.",
			"She sacrificed a rook on move 31 and forced mate eleven moves later, to applause from a packed hall.",
			"The title earns her a place on the national team for the next Olympiad.",
		},
	},
	{
		Slug: "delivery-drones-rules", Title: "Regulator proposes rules for delivery drones over cities", Author: "Tech Desk", Category: "Technology",
		Paragraphs: []string{
			"The aviation regulator published draft rules on Friday that would let companies fly delivery drones over built-up areas for the first time.",
			"Operators would need a licence, a remote pilot for every five aircraft and insurance against damage on the ground.",
			"Consumer groups welcomed faster deliveries but asked for strict limits on noise and on cameras.",
		},
	},
	{
		Slug: "river-bridge-reopens", Title: "Old river bridge reopens after two years of repairs", Author: "City Desk", Category: "Local",
		Paragraphs: []string{
			"The old stone bridge across the river reopened to pedestrians and cyclists on Saturday after two years of repairs.",
			"Engineers replaced the crumbling parapets and strengthened two of the seven arches.",
			"Cars will stay banned from the bridge, the city said, to protect the restored structure.",
		},
	},
	{
		Slug: "lukashenko-grain", Title: "Lukashenko orders grain reserves to be topped up before winter", Author: "Demo Desk", Category: "Economy",
		Paragraphs: []string{
			"Belarusian leader Alexander Lukashenko ordered the government on Monday to top up state grain reserves before the first frosts.",
			"He told ministers that a poor harvest in the south of the country must not lead to higher bread prices.",
			"Economists said the order could strain a budget already squeezed by sanctions.",
		},
	},
	{
		Slug: "museum-night", Title: "Museums stay open all night for the autumn festival", Author: "Culture Desk", Category: "Culture",
		Paragraphs: []string{
			"More than forty museums will keep their doors open until dawn on Saturday for the city's autumn festival.",
			"Organisers expect record crowds for a new exhibition of maps and a concert in the natural history hall.",
			"Public transport will run all night, the city said.",
		},
	},
}
