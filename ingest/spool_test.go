package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func openSpool(t *testing.T, dir string, max int64) *Spool {
	t.Helper()
	s, err := OpenSpool(dir, max)
	if err != nil {
		t.Fatalf("OpenSpool: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// drain removes every batch from s and returns them oldest first.
func drain(t *testing.T, s *Spool) []string {
	t.Helper()
	var got []string
	for {
		b, ok, err := s.Oldest()
		if err != nil {
			t.Fatalf("Oldest: %v", err)
		}
		if !ok {
			return got
		}
		got = append(got, string(b))
		if err := s.RemoveOldest(); err != nil {
			t.Fatalf("RemoveOldest: %v", err)
		}
	}
}

func appendAll(t *testing.T, s *Spool, batches ...string) {
	t.Helper()
	for _, b := range batches {
		if err := s.Append([]byte(b)); err != nil {
			t.Fatalf("Append(%q): %v", b, err)
		}
	}
}

func TestSpool_ReturnsBatchesOldestFirstAcrossSegments(t *testing.T) {
	s := openSpool(t, t.TempDir(), 0)
	// Batches of 300 kB cross the 1 MiB segment size several times.
	var want []string
	for i := range 10 {
		b := fmt.Sprintf("%d%s\n", i, bytes.Repeat([]byte{'x'}, 300<<10))
		want = append(want, b)
		appendAll(t, s, b)
	}
	if got, wantBytes := s.Bytes(), int64(10*(recordHeader+len(want[0]))); got != wantBytes {
		t.Fatalf("Bytes = %d, want %d", got, wantBytes)
	}
	got := drain(t, s)
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("batch %d out of order", i)
		}
	}
	if !s.Empty() || s.Bytes() != 0 {
		t.Fatalf("after drain: Empty %v, Bytes %d", s.Empty(), s.Bytes())
	}
	segs, _ := filepath.Glob(filepath.Join(s.dir, "*.seg"))
	if len(segs) != 0 {
		t.Fatalf("replayed segments left on disk: %v", segs)
	}
}

func TestSpool_ReopenKeepsBatchesAndSkipsTornRecord(t *testing.T) {
	tests := []struct {
		name string
		tear func(t *testing.T, path string)
	}{
		{"cut short", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()-3); err != nil {
				t.Fatal(err)
			}
		}},
		{"bad checksum", func(t *testing.T, path string) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-2] ^= 0xff
			if err := os.WriteFile(path, data, 0o640); err != nil {
				t.Fatal(err)
			}
		}},
		{"header only", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{0xff, 0, 0})
			f.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenSpool(dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			appendAll(t, s, "a 1\n", "b 2\n", "c 3\n")
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			if len(segs) != 1 {
				t.Fatalf("segments = %v, want one", segs)
			}
			tt.tear(t, segs[0])

			s = openSpool(t, dir, 0)
			want := []string{"a 1\n", "b 2\n", "c 3\n"}
			if tt.name != "header only" {
				want = want[:2] // the damaged last record is dropped
			}
			// Appending after the torn record must stay readable.
			appendAll(t, s, "d 4\n")
			want = append(want, "d 4\n")
			if got := drain(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after reopen got %q, want %q", got, want)
			}
		})
	}
}

func TestSpool_RefusesBatchesPastMaxBytes(t *testing.T) {
	batch := "gas value=1 1\n"
	size := int64(recordHeader + len(batch))
	s := openSpool(t, t.TempDir(), 2*size)
	appendAll(t, s, batch, batch)
	if err := s.Append([]byte(batch)); !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("third Append error = %v, want ErrSpoolFull", err)
	}
	if got := s.Bytes(); got != 2*size {
		t.Fatalf("Bytes = %d after refused append, want %d", got, 2*size)
	}
	if err := s.RemoveOldest(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte(batch)); err != nil {
		t.Fatalf("Append after making room: %v", err)
	}
}

func TestSpool_ReopenFindsBatchesAndAppendsAfterThem(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, s, "a 1\n", "b 2\n")
	s.Close()
	s = openSpool(t, dir, 0)
	if s.Bytes() != int64(2*(recordHeader+4)) {
		t.Fatalf("Bytes after reopen = %d", s.Bytes())
	}
	appendAll(t, s, "c 3\n")
	if got := drain(t, s); fmt.Sprint(got) != fmt.Sprint([]string{"a 1\n", "b 2\n", "c 3\n"}) {
		t.Fatalf("got %q", got)
	}
}

// FuzzSpoolOpen feeds arbitrary segment contents to OpenSpool: it must keep
// exactly the records that check out, and the spool must stay usable.
func FuzzSpoolOpen(f *testing.F) {
	good := []byte{4, 0, 0, 0}
	good = binary.LittleEndian.AppendUint32(good, crc32.Checksum([]byte("a 1\n"), castagnoli))
	good = append(good, "a 1\n"...)
	f.Add(good)
	f.Add(append(good, good[:6]...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o640); err != nil {
			t.Fatal(err)
		}
		s := openSpool(t, dir, 0)
		before := s.Bytes()
		var sum int64
		for _, b := range drain(t, s) {
			sum += int64(recordHeader + len(b))
		}
		if sum != before || sum > int64(len(data)) {
			t.Fatalf("Bytes %d, records %d, file %d", before, sum, len(data))
		}
		appendAll(t, s, "z 9\n")
		if got := drain(t, s); len(got) != 1 || got[0] != "z 9\n" {
			t.Fatalf("after append got %q", got)
		}
	})
}

// spoolOf writes n batches into a fresh spool in dir and returns them with
// the path of the segment that holds them.
func spoolOf(t *testing.T, dir string, n int) (batches []string, path string) {
	t.Helper()
	s, err := OpenSpool(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		batches = append(batches, fmt.Sprintf("gas,sensor=s%d value=%d.5 %d\n", i, i, i))
	}
	appendAll(t, s, batches...)
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments = %v, want one", segs)
	}
	return batches, segs[0]
}

// TestSpool_ReopenSkipsABadRecordInTheMiddleAndKeepsTheRest is issue 10
// item 10: a damaged record in the middle of a segment dropped every batch
// after it (200 of 250 lost), without a log line or a metric.
func TestSpool_ReopenSkipsABadRecordInTheMiddleAndKeepsTheRest(t *testing.T) {
	tests := []struct {
		name   string
		damage func(data []byte, off int)
	}{
		{"bad checksum", func(data []byte, off int) { data[off+recordHeader+3] ^= 0xff }},
		{"bad length", func(data []byte, off int) { data[off+1] ^= 0x40 }},
		{"zeroed", func(data []byte, off int) { clear(data[off : off+20]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			batches, path := spoolOf(t, dir, 250)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			off := 0
			for _, b := range batches[:50] {
				off += recordHeader + len(b)
			}
			tt.damage(data, off)
			if err := os.WriteFile(path, data, 0o640); err != nil {
				t.Fatal(err)
			}

			s := openSpool(t, dir, 0)
			want := slices.Concat(batches[:50], batches[51:])
			if got := drain(t, s); !slices.Equal(got, want) {
				t.Fatalf("after reopen %d batches, want the %d undamaged ones", len(got), len(want))
			}
			if d := s.Damage(); len(d) != 1 || d[0].Offset != int64(off) || d[0].Path != path {
				t.Fatalf("damage %+v, want one stretch at %s:%d", d, path, off)
			}
		})
	}
}

// FuzzSpoolDamage damages a segment of good records anywhere, and cuts it
// anywhere: every record the damage and the cut left whole is still there, in
// order.
func FuzzSpoolDamage(f *testing.F) {
	f.Add(uint16(0), byte(1), uint16(0))
	f.Add(uint16(13), byte(0x80), uint16(300))
	f.Add(uint16(100), byte(0xff), uint16(5))
	f.Fuzz(func(t *testing.T, pos uint16, flip byte, cut uint16) {
		dir := t.TempDir()
		batches, path := spoolOf(t, dir, 20)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		at := int(pos) % len(data)
		data[at] ^= flip | 1
		data = data[:len(data)-int(cut)%len(data)]
		if err := os.WriteFile(path, data, 0o640); err != nil {
			t.Fatal(err)
		}
		var want []string
		off := 0
		for _, b := range batches {
			end := off + recordHeader + len(b)
			if end <= len(data) && (at < off || at >= end) {
				want = append(want, b)
			}
			off = end
		}
		got := drain(t, openSpool(t, dir, 0))
		if !slices.Equal(got, want) {
			t.Fatalf("damage at %d, cut to %d: got %q, want %q", at, len(data), got, want)
		}
	})
}
