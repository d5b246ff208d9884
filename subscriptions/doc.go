// Package subscriptions holds what subscribers follow: the topic query
// language of SPEC ("Topic queries"), the tokeniser that queries and
// articles share, and an in-memory Index that matches one article against
// a million stored queries by looking up only the queries its words select
// (the idea of Lucene Monitor and the Elasticsearch percolator); and the
// subscriber store in Redis (Store), with Key, the one builder of every
// sub:{<id>} key.
//
// Parsing, normalising and matching do no I/O, so the bot, the web form,
// the matcher and "herald match" all get the same answers from the same
// code; only Store talks to Redis.
package subscriptions
