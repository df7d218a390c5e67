// Package store is beatmq's message store: one append-only log shared by
// all queues, and an atomically replaced definitions file. It knows queues
// (uint32 ids the caller assigns and keeps in its definitions), message
// ids (uint64, increasing in publish order within a queue), opaque
// message bytes and file offsets; it knows nothing of AMQP.
//
// # The log
//
// The log is a sequence of segment files (DIR/00000001.seg, ...) of about
// Options.SegmentSize bytes, each starting with a header (magic, version,
// number, CRC). Records follow: a length, a CRC-32C and a kind, then a
// body (record.go): publish (data for one or more (queue, id) targets),
// ack (settles targets), delivered (marks targets as handed to a
// consumer) and drop (settles every message of a queue: queue.delete,
// queue.purge). The live set at any point of the log is what replaying
// the records from the start gives.
//
// One writer goroutine owns the files. Callers append encoded records to
// a pending batch under Store.mu (so the log order is the order of the
// calls); the writer takes the whole batch, writes it, fdatasyncs once if
// any record in it waits for durability, and completes every Publish the
// batch carried: group commit by draining, with no timer, as RabbitMQ's
// msg_store syncs when its mailbox runs empty. Acks and delivered records
// do not wait; they are ordered after what they settle and ride along
// with the next sync.
//
// A sealed segment whose messages are all settled is removed once no
// settle record in it still matters; one whose live bytes fall below
// Options.CompactBelow of its size has its live records copied to the
// active segment, and is removed once the copies are synced
// (compact.go). Copies keep their ids, and recovery orders a queue by id,
// so compaction does not reorder queues.
//
// When a segment is sealed the writer leaves a summary beside it
// (NNNNNNNN.sum, summary.go): its records without message data, with a
// CRC. Open replays sealed segments from their summaries and scans only
// the last segment (recover.go). It keeps no message data: the caller
// reads each queue's live messages back with RecoveredQueue.Each
// (recovered.go), a bounded chunk at a time, each record's CRC checked
// as it is read, so a backlog larger than memory can be recovered into
// queues that page it. A missing or damaged
// summary costs a scan of its segment, never data; a segment of small
// messages gets none (its summary would be half its size or more, so a
// scan costs about the same). A torn or corrupt tail
// of the last segment is cut at the last valid record and reported
// (Recovered.Truncated and a warning on Options.Logger), as etcd's wal
// and Prometheus' wlog repair theirs; only the last segment can be torn,
// because a segment is synced (in both sync modes) before the next is
// created. Damage anywhere else, or a file that is not a segment, fails
// Open (or, in a live record of a segment replayed from its summary,
// Each) and touches nothing.
//
// DIR/.lock is held with flock while a Store is open: a second Open of
// the same directory, from this process or another, fails with ErrLocked.
//
// A scratch area for paged-out transient messages (a later issue) is
// meant to be a second Store on DIR/scratch, removed before it is opened.
//
// Publish returns a Ref (segment, offset, length) for the record, but a
// Ref goes stale when compaction moves the record; Read takes the
// (queue, id) the caller holds anyway and looks the current place up, so
// paged-out bodies can always be read back.
//
// # Locking
//
// Store.mu is the only lock (Store.space, where publishers wait for room,
// is a condition on it), so there is no order to keep between locks. It
// guards the pending batch, the segment accounts and the index, and is
// held for short work only (copying a record in, updating counts), never
// across a system call: the writer's write, fdatasync, file removal and
// compaction reads run without it. Fields the writer alone touches (the
// unsynced list, its read buffer) need no lock; a segment's file handle
// is opened and closed by the writer and published under Store.mu.
//
// For callers, Store.mu is a leaf: Ack, Delivered, DeleteQueue,
// PurgeQueue, Read and Stats never wait for the writer, so they may be
// called with the caller's own locks held (a queue's lock, say). Publish
// and PublishTo may wait for room (Options.MaxPending) and Sync and Close
// wait for the writer: call them without holding a lock that a
// completion function takes.
//
// Completion functions run on the writer goroutine with no lock held.
// They must not block and must not call into the Store: Sync or Close
// from there would wait for the writer itself, and a Publish could wait
// for room only the writer can make.
//
// Files: segment.go (file header, segment accounts), record.go (record
// layout), index.go (a queue's live messages, sorted by id), writer.go
// (pending batches, the writer goroutine), publish.go, settle.go, read.go
// (the operations), recover.go, recovered.go (reading recovered queues
// back), compact.go, lock.go, defs.go
// (definitions file), summary.go, options.go, store.go (Open, Close,
// Stats).
package store
