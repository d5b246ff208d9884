package mailer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkDigests builds and sends 10,000 digests (two articles each) to
// the in-test SMTP server, with connections kept open across emails and,
// for comparison, with a new connection for every email. Run it with
//
//	go test -run '^$' -bench Digests -benchtime 1x ./mailer/
func BenchmarkDigests(b *testing.B) {
	const readers = 10000
	for _, c := range []struct {
		name    string
		perConn int
	}{{"reused-connections", 0}, {"connection-per-email", 1}} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b)
			f.tr.PerConnection = c.perConn
			f.m.Connections = 4
			for b.Loop() {
				b.StopTimer()
				var wg sync.WaitGroup
				ids := make(chan int)
				for range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range ids {
							r := f.reader(b, fmt.Sprintf("r%d@example.org", i), "instant", 0, "UTC", "belarus", "iran drones")
							f.publish(b, r.ID, "belarus", fmt.Sprintf("Belarus story %d", i%50))
							f.publish(b, r.ID, "iran drones", fmt.Sprintf("Drone story %d", i%30))
						}
					}()
				}
				for i := range readers {
					ids <- i
				}
				close(ids)
				wg.Wait()
				before := len(f.smtp.Messages())
				b.StartTimer()
				start := time.Now()
				n, err := f.m.SendDigests(context.Background(), true)
				elapsed := time.Since(start)
				b.StopTimer()
				if err != nil || n != readers {
					b.Fatalf("SendDigests = %d, %v", n, err)
				}
				if got := len(f.smtp.Messages()) - before; got != readers {
					b.Fatalf("server accepted %d", got)
				}
				b.ReportMetric(float64(readers)/elapsed.Seconds(), "emails/s")
				b.ReportMetric(float64(f.smtp.Connections()), "connections")
				b.StartTimer()
			}
		})
	}
}
