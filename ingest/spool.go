package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ErrSpoolFull is returned by Spool.Append when the batch would take the
// spool past its size limit. The writer then holds the batch in memory
// without acknowledging its messages, so the broker keeps them (and, with
// QoS 1, stops sending once its in-flight window is full): nothing
// acknowledged is ever dropped.
var ErrSpoolFull = errors.New("spool full")

// segmentBytes is the size after which the spool starts a new segment file.
// A segment is deleted once all its batches are written, so this bounds the
// disk held by batches already replayed, and what a restart replays twice.
const segmentBytes = 1 << 20

// recordHeader is the length and CRC-32C of a record's batch.
const recordHeader = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Spool is an on-disk queue of line-protocol batches kept while InfluxDB
// cannot take them, replayed oldest first.
//
// Batches are records in numbered segment files: a little-endian uint32
// length, the CRC-32C of the batch, the batch. Append returns only after the
// record is fsynced. On open, a record cut short at the end of its segment
// was being written when the process died, so its batch was never
// acknowledged: it is cut off. A damaged record followed by valid ones held
// an acknowledged batch that is lost; it is skipped, the records after it
// are kept, and the stretch is reported by Damage. Removing a batch only moves a head in memory until its
// whole segment is done and deleted; batches of a partly replayed segment are
// written again after a restart, which InfluxDB absorbs, as a point with the
// same series and time overwrites itself.
type Spool struct {
	dir      string
	maxBytes int64

	mu      sync.Mutex
	segs    []*spoolSegment // oldest first; the last one takes appends
	bytes   int64           // records not yet removed, headers included
	damage  []SpoolDamage   // found on open
	active  *os.File        // the last segment, open for appending
	nextSeq uint64
	scratch []byte
}

type spoolSegment struct {
	path string
	size int64        // bytes of valid records in the file
	recs []recordSpan // the file's records
	head int          // records before head are written and removed
}

type recordSpan struct{ off, n int64 }

// OpenSpool opens the spool in dir, creating dir if needed, and finds the
// batches a previous run left there. maxBytes bounds the batches held; zero
// or less means no bound.
func OpenSpool(dir string, maxBytes int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, nextSeq: 1}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue // not ours
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		seg, damage, err := scanSegment(filepath.Join(dir, segmentName(seq)))
		if err != nil {
			return nil, err
		}
		s.damage = append(s.damage, damage...)
		s.nextSeq = seq + 1
		if len(seg.recs) == 0 {
			if err := os.Remove(seg.path); err != nil {
				return nil, fmt.Errorf("remove empty spool segment: %w", err)
			}
			continue
		}
		s.segs = append(s.segs, seg)
		for _, r := range seg.recs {
			s.bytes += recordHeader + r.n
		}
	}
	return s, nil
}

func segmentName(seq uint64) string { return fmt.Sprintf("%020d.seg", seq) }

// scanSegment finds a segment's valid records. A stretch that holds none
// between valid records is damage, skipped; one at the end is a torn write,
// cut off so that appends after it stay readable. A last record that is
// whole but fails its checksum is damage too, as it may have been
// acknowledged.
func scanSegment(path string) (*spoolSegment, []SpoolDamage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read spool segment: %w", err)
	}
	seg := &spoolSegment{path: path}
	var damage []SpoolDamage
	var off int64
	for off < int64(len(data)) {
		if n, ok := recordAt(data, off); ok {
			seg.recs = append(seg.recs, recordSpan{off, n})
			off += recordHeader + n
			continue
		}
		next := nextRecord(data, off)
		if next < 0 {
			if wholeRecordAt(data, off) {
				damage = append(damage, SpoolDamage{path, off, int64(len(data)) - off})
			}
			break
		}
		damage = append(damage, SpoolDamage{path, off, next - off})
		off = next
	}
	if len(seg.recs) > 0 {
		last := seg.recs[len(seg.recs)-1]
		seg.size = last.off + recordHeader + last.n
	}
	if seg.size < int64(len(data)) {
		if err := os.Truncate(path, seg.size); err != nil {
			return nil, nil, fmt.Errorf("cut torn record off spool segment: %w", err)
		}
	}
	return seg, damage, nil
}

// recordAt returns the length of the batch of the valid record at off. A
// record is valid when it fits, holds whole lines and its checksum matches;
// an empty one is not, since no empty batch is spooled and zeroed disk
// blocks would otherwise read as records.
func recordAt(data []byte, off int64) (int64, bool) {
	if int64(len(data))-off < recordHeader {
		return 0, false
	}
	n := int64(binary.LittleEndian.Uint32(data[off:]))
	end := off + recordHeader + n
	if n == 0 || end > int64(len(data)) || data[end-1] != '\n' {
		return 0, false
	}
	return n, crc32.Checksum(data[off+recordHeader:end], castagnoli) == binary.LittleEndian.Uint32(data[off+4:])
}

// wholeRecordAt reports whether the record at off, valid or not, ends
// exactly at the end of data: written whole, not torn.
func wholeRecordAt(data []byte, off int64) bool {
	return int64(len(data))-off >= recordHeader &&
		off+recordHeader+int64(binary.LittleEndian.Uint32(data[off:])) == int64(len(data))
}

// nextRecord returns the offset of the first valid record after the damaged
// one at off, or -1. It tries where the damaged record's length says the
// next one starts, then every byte: a random length rarely fits the segment,
// so few checksums are computed.
func nextRecord(data []byte, off int64) int64 {
	if len(data)-int(off) >= recordHeader {
		if next := off + recordHeader + int64(binary.LittleEndian.Uint32(data[off:])); next < int64(len(data)) {
			if _, ok := recordAt(data, next); ok {
				return next
			}
		}
	}
	for next := off + 1; next < int64(len(data)); next++ {
		if _, ok := recordAt(data, next); ok {
			return next
		}
	}
	return -1
}

// SpoolDamage is a stretch of a segment, found on open, that held no valid
// record between valid ones: a record damaged on disk, skipped.
type SpoolDamage struct {
	Path          string
	Offset, Bytes int64
}

// Damage returns the stretches of damaged records skipped on open.
func (s *Spool) Damage() []SpoolDamage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.damage)
}

// Bytes returns the size of the batches waiting, record headers included.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Empty reports whether no batch is waiting.
func (s *Spool) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segs) == 0
}

// Append stores batch after all others and returns once it is on disk. It
// returns ErrSpoolFull, storing nothing, when the batch does not fit.
func (s *Spool) Append(batch []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := int64(recordHeader + len(batch))
	if s.maxBytes > 0 && s.bytes+size > s.maxBytes {
		return ErrSpoolFull
	}
	if err := s.ensureActive(); err != nil {
		return err
	}
	seg := s.segs[len(s.segs)-1]
	s.scratch = binary.LittleEndian.AppendUint32(s.scratch[:0], uint32(len(batch)))
	s.scratch = binary.LittleEndian.AppendUint32(s.scratch, crc32.Checksum(batch, castagnoli))
	s.scratch = append(s.scratch, batch...)
	if _, err := s.active.Write(s.scratch); err != nil {
		// Cut what was written, so a later append does not follow a torn record.
		_ = s.active.Truncate(seg.size)
		return fmt.Errorf("append to spool segment: %w", err)
	}
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("sync spool segment: %w", err)
	}
	seg.recs = append(seg.recs, recordSpan{seg.size, int64(len(batch))})
	seg.size += size
	s.bytes += size
	return nil
}

// ensureActive makes sure the last segment is open for appending and has
// room, starting a new segment when needed.
func (s *Spool) ensureActive() error {
	if s.active != nil && s.segs[len(s.segs)-1].size < segmentBytes {
		return nil
	}
	if s.active != nil {
		if err := s.active.Close(); err != nil {
			return fmt.Errorf("close spool segment: %w", err)
		}
		s.active = nil
	}
	path := filepath.Join(s.dir, segmentName(s.nextSeq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.nextSeq++
	s.active = f
	s.segs = append(s.segs, &spoolSegment{path: path})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open spool dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync spool dir: %w", err)
	}
	return nil
}

// Oldest returns a copy of the oldest waiting batch, or ok false when the
// spool is empty.
func (s *Spool) Oldest() (batch []byte, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 {
		return nil, false, nil
	}
	seg := s.segs[0]
	r := seg.recs[seg.head]
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, false, fmt.Errorf("open spool segment: %w", err)
	}
	defer f.Close()
	batch = make([]byte, r.n)
	if _, err := f.ReadAt(batch, r.off+recordHeader); err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("read spooled batch: %w", err)
	}
	return batch, true, nil
}

// RemoveOldest drops the oldest batch once it is written, deleting its
// segment when no batch of it is left.
func (s *Spool) RemoveOldest() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 {
		return nil
	}
	seg := s.segs[0]
	s.bytes -= recordHeader + seg.recs[seg.head].n
	seg.head++
	if seg.head < len(seg.recs) {
		return nil
	}
	if len(s.segs) == 1 && s.active != nil {
		if err := s.active.Close(); err != nil {
			return fmt.Errorf("close spool segment: %w", err)
		}
		s.active = nil
	}
	s.segs = s.segs[1:]
	if err := os.Remove(seg.path); err != nil {
		return fmt.Errorf("remove replayed spool segment: %w", err)
	}
	return nil
}

// Close closes the segment open for appending; waiting batches stay on disk.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return nil
	}
	err := s.active.Close()
	s.active = nil
	if err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	return nil
}
