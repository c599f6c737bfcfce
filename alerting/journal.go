package alerting

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The journal is the engine's durable memory. Every reading the engine
// evaluates and every transition it makes is appended to it under the lock of
// the reading's series, numbered in one sequence; a goroutine writes what was
// appended and fsyncs it, many records per fsync (group commit). The daemon
// acknowledges a message to the broker only once the records its readings
// caused are durable (WaitDurable), and notification handles a transition only
// once it is durable, so that after any crash the engine restarts from
// exactly the transitions it recorded and the people on duty were told
// exactly those.
//
// A checkpoint writes the whole state as a snapshot now and then and removes
// the segments no longer needed, so that what is written grows with the rate
// of readings, not with the number of series times the save frequency.

const (
	segmentPrefix = "journal-"
	segmentSuffix = ".log"
	// maxPendingBytes bounds what may wait for the disk; appends block past
	// it, which holds back ingest rather than growing memory without end.
	maxPendingBytes = 64 << 20
	// groupCommitDelay lets appends gather before an fsync when nobody is
	// waiting for one yet; a waiter gets its fsync at once. At 2 ms the
	// fsyncs alone cost about a microsecond of CPU per reading at 30k
	// readings/s (make loadbench).
	groupCommitDelay = 10 * time.Millisecond
)

// Journal is the append-only log of readings and transitions in a directory.
type Journal struct {
	dir string
	log *slog.Logger

	mu sync.Mutex
	// work wakes the writer: something was appended, a rotation asked for,
	// or the journal closed. moved wakes everybody else: what was pending
	// was taken (room for appends), a rotation done, durable moved, or
	// the journal failed or closed. Appends signal only the writer, so
	// that 30k appends a second do not wake a waiter each.
	work, moved *sync.Cond
	pending     []byte // framed records not yet handed to the writer
	// rotations are the offsets in pending where a new segment starts.
	rotations []rotation
	last      uint64 // sequence of the newest record appended
	durable   uint64 // sequence up to which records are fsynced
	waiters   int    // goroutines in WaitDurable
	rotateAt  uint64 // when set, the records from this sequence on go to a new segment
	started   bool
	closed    bool
	err       error // the first write failure; appends go on, durability does not

	// hurry cuts the writer's wait for more records short: somebody waits.
	hurry chan struct{}

	// Owned by the writer goroutine.
	file *os.File
	done chan struct{}

	written atomic.Uint64 // bytes written since the journal opened
	syncs   atomic.Uint64 // fsyncs since the journal opened
}

// rotation marks where in the pending records a new segment begins.
type rotation struct {
	offset int
	first  uint64
}

// segment is one file of the journal: the records from first on.
type segment struct {
	path  string
	first uint64
}

// OpenJournal opens the journal in dir, creating dir. The engine reads what
// is there (Engine.Restore) and then appends after the last record.
func OpenJournal(dir string, log *slog.Logger) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open alert journal: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	j := &Journal{dir: dir, log: log, done: make(chan struct{}), hurry: make(chan struct{}, 1)}
	j.work, j.moved = sync.NewCond(&j.mu), sync.NewCond(&j.mu)
	return j, nil
}

// segments lists the journal's segment files, oldest first.
func (j *Journal) segments() ([]segment, error) {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("list alert journal: %w", err)
	}
	var out []segment
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 16, 64)
		if err != nil {
			continue
		}
		out = append(out, segment{path: filepath.Join(j.dir, name), first: first})
	}
	slices.SortFunc(out, func(a, b segment) int { return compareUint(a.first, b.first) })
	return out, nil
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func segmentName(first uint64) string {
	return fmt.Sprintf("%s%016x%s", segmentPrefix, first, segmentSuffix)
}

// start begins appending after sequence last, in a new segment, and starts
// the writer goroutine.
func (j *Journal) start(last uint64) error {
	f, err := j.createSegment(last + 1)
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.last, j.durable = last, last
	j.file, j.started = f, true
	j.mu.Unlock()
	go j.write()
	return nil
}

func (j *Journal) createSegment(first uint64) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(first)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create alert journal segment: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// append adds one record, framed by enc after its sequence number is known,
// and returns that number. The caller holds the lock of the series the
// record is about, so that a series' records are in the order its state
// changed.
func (j *Journal) append(enc func(b []byte, seq uint64) []byte) uint64 {
	j.mu.Lock()
	for len(j.pending) > maxPendingBytes && !j.closed {
		j.moved.Wait()
	}
	j.last++
	seq := j.last
	j.pending = frame(j.pending, func(b []byte) []byte { return enc(b, seq) })
	j.work.Signal()
	j.mu.Unlock()
	return seq
}

// LastSeq returns the sequence of the newest record appended.
func (j *Journal) LastSeq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

// WaitDurable returns once the records up to seq are on disk, or the journal
// has failed or closed (then with the error).
func (j *Journal) WaitDurable(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.waiters++
	defer func() { j.waiters-- }()
	for j.durable < seq && j.err == nil && !j.closed {
		// Wake the writer now rather than after its delay.
		select {
		case j.hurry <- struct{}{}:
		default:
		}
		j.work.Signal()
		j.moved.Wait()
	}
	if j.durable >= seq {
		return nil
	}
	if j.err != nil {
		return j.err
	}
	return errors.New("alert journal closed")
}

// WaitAppended returns once every record appended before the call is on
// disk: the writer's ack gate, so that no message is acknowledged before the
// transitions its readings caused are recorded.
func (j *Journal) WaitAppended() error { return j.WaitDurable(j.LastSeq()) }

// rotate makes the records appended from now on go to a new segment and
// returns, once that segment exists, the sequence it starts with.
func (j *Journal) rotate() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.rotateAt == 0 {
		j.rotateAt = j.last + 1
		j.rotations = append(j.rotations, rotation{offset: len(j.pending), first: j.rotateAt})
	}
	first := j.rotateAt
	j.work.Signal()
	for j.rotateAt == first && j.err == nil && !j.closed {
		j.moved.Wait()
	}
	return first
}

// write is the writer goroutine: it takes what was appended, writes it to the
// current segment and fsyncs, then tells the waiters how far is durable.
func (j *Journal) write() {
	defer close(j.done)
	var buf []byte
	var rots []rotation
	for {
		j.mu.Lock()
		for len(j.pending) == 0 && len(j.rotations) == 0 && !j.closed {
			j.work.Wait()
		}
		if len(j.pending) == 0 && len(j.rotations) == 0 && j.closed {
			j.mu.Unlock()
			return
		}
		if j.waiters == 0 && !j.closed {
			// Let more records join this fsync, unless somebody starts
			// waiting for it meanwhile.
			j.mu.Unlock()
			select {
			case <-time.After(groupCommitDelay):
			case <-j.hurry:
			}
			j.mu.Lock()
		}
		buf, j.pending = j.pending, buf[:0]
		rots, j.rotations = j.rotations, rots[:0]
		upto := j.last
		j.moved.Broadcast() // appends blocked on a full pending may go on
		j.mu.Unlock()

		err := j.writeOut(buf, rots)

		j.mu.Lock()
		if err != nil && j.err == nil {
			j.err = err
			j.log.Error("alert journal write failed; alert state is no longer durable", "dir", j.dir, "err", err)
		}
		if err == nil {
			j.durable = upto
		}
		j.moved.Broadcast()
		j.mu.Unlock()
	}
}

// writeOut writes framed records to the current segment, starting a new
// segment at each rotation, and fsyncs.
func (j *Journal) writeOut(buf []byte, rots []rotation) error {
	from := 0
	for _, r := range rots {
		if err := j.writeChunk(buf[from:r.offset]); err != nil {
			return err
		}
		from = r.offset
		if err := j.sync(); err != nil {
			return err
		}
		j.file.Close()
		f, err := j.createSegment(r.first)
		if err != nil {
			return err
		}
		j.file = f
		j.mu.Lock()
		if j.rotateAt == r.first {
			j.rotateAt = 0
		}
		j.moved.Broadcast()
		j.mu.Unlock()
	}
	if err := j.writeChunk(buf[from:]); err != nil {
		return err
	}
	return j.sync()
}

func (j *Journal) sync() error {
	if err := j.file.Sync(); err != nil {
		return fmt.Errorf("sync alert journal: %w", err)
	}
	j.syncs.Add(1)
	return nil
}

// Syncs returns how many fsyncs the journal has made since it opened.
func (j *Journal) Syncs() uint64 { return j.syncs.Load() }

// BytesWritten returns how many bytes the journal has written since it opened.
func (j *Journal) BytesWritten() uint64 { return j.written.Load() }

func (j *Journal) writeChunk(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := j.file.Write(b); err != nil {
		return fmt.Errorf("write alert journal: %w", err)
	}
	j.written.Add(uint64(len(b)))
	return nil
}

// Close writes what is pending and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return j.err
	}
	j.closed = true
	started := j.started
	j.work.Signal()
	j.moved.Broadcast()
	j.mu.Unlock()
	if !started {
		return nil
	}
	<-j.done
	return errors.Join(j.err, j.file.Close())
}

// removeBefore deletes the segments whose records all come before seq.
func (j *Journal) removeBefore(seq uint64) error {
	segs, err := j.segments()
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(segs); i++ {
		if segs[i+1].first > seq {
			break
		}
		if err := os.Remove(segs[i].path); err != nil {
			return fmt.Errorf("remove alert journal segment: %w", err)
		}
	}
	return nil
}

// syncDir makes a file created or renamed in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
