package subscriptions

import "testing"

func TestHeading(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{`"military cooperation" Iran -Israel`, "military cooperation · Iran, not Israel"},
		{`"MILITARY COOPERATION" IRAN -ISRAEL`, "military cooperation · Iran, not Israel"},
		{`belarus`, "Belarus"},
		{`belarus OR minsk`, "Belarus or Minsk"},
		{`museum*`, "Museum…"},
		{`title:drones site:example.com`, "from example.com · Drones (in the title)"},
		{`iran -israel -"press tv"`, "Iran, not press tv or Israel"},
		{`(belarus iran) OR minsk`, "(Belarus · Iran) or Minsk"},
		{`lukašenka -(minsk OR brest)`, "Lukasenka, not Brest or Minsk"},
	} {
		t.Run(c.query, func(t *testing.T) {
			if got := MustParse(c.query).Heading(); got != c.want {
				t.Errorf("Heading(%q) = %q, want %q", c.query, got, c.want)
			}
		})
	}
}

func TestHeadingIn(t *testing.T) {
	ru := HeadingWords{Not: "не", Or: "или", From: "с сайта", InTitle: "в заголовке"}
	got := MustParse(`"военное сотрудничество" (iran OR title:drones) -israel site:example.com`).HeadingIn(ru)
	if want := "военное сотрудничество · Iran или Drones (в заголовке) · с сайта example.com, не Israel"; got != want {
		t.Errorf("HeadingIn = %q, want %q", got, want)
	}
}
