package notify

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names in the outbox file.
var (
	bucketPending  = []byte("pending")  // entry id → entry
	bucketInFlight = []byte("inflight") // entry id → nothing: an attempt was under way
	bucketAcks     = []byte("acks")     // alert id → Ack
	bucketSilences = []byte("silences") // silence id → Silence
	bucketAlerts   = []byte("alerts")   // alert id → tracked
	bucketGroups   = []byte("groups")   // group key → storedGroup
	bucketMeta     = []byte("meta")     // keyCursor, keyNextID, keyInstance

	// bucketHandled held the last transition per alert before the cursor
	// replaced it; it is dropped when an old file is opened.
	bucketHandled = []byte("handled")

	allBuckets = [][]byte{bucketPending, bucketInFlight, bucketAcks, bucketSilences, bucketAlerts, bucketGroups, bucketMeta}
)

var (
	keyCursor   = []byte("cursor")
	keyNextID   = []byte("next_id")
	keyInstance = []byte("instance")
)

// Outbox is the dispatcher's durable store, one bbolt file: the pending
// notifications (written before they are sent, deleted once the channel
// accepts them), the tracking state of the alerts, the groups waiting for
// their group_wait, the acknowledgements, the API's silences and the cursor
// (the last engine transition whose effects are stored). The pipeline
// writes a whole batch in one transaction; the channel queues, the acks and
// the silences write their own small transactions.
type Outbox struct {
	db   *bolt.DB
	path string
	// instance names this file in the notification ids, so that the ids of
	// a fresh file (after a damaged one was moved aside) never repeat old ones.
	instance string
	snap     *snapshot
	// damage says what was found damaged when the file was opened, for the
	// dispatcher to log and count.
	damage []string
	w      *writer
	// log is the dispatcher's logger once it has one; the writer logs there.
	log atomic.Pointer[slog.Logger]
}

func (o *Outbox) logger() *slog.Logger {
	if l := o.log.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// entry is one notification for one channel.
type entry struct {
	ID       uint64    `json:"id"`
	Channel  string    `json:"channel"`
	Message  Message   `json:"message"`
	Created  time.Time `json:"created"`
	Next     time.Time `json:"next"` // when it may be sent (again)
	Attempts int       `json:"attempts"`
	// Received is the earliest reading arrival among the transitions that
	// caused it (zero for repeats and escalations), for the latency metric.
	Received time.Time `json:"received,omitzero"`
}

// snapshot is what the file held when it was opened.
type snapshot struct {
	entries  []*entry
	inFlight int // entries that had an attempt under way: the channel may have them
	acks     []*Ack
	silences []*Silence
	alerts   []*tracked
	groups   []*storedGroup
	cursor   uint64
	nextID   uint64
}

// errDamaged marks a file that cannot be read as an outbox.
var errDamaged = errors.New("damaged outbox file")

// OpenOutbox opens (or creates) the outbox file at path. A file that cannot
// be opened or read as an outbox (truncated, overwritten, not bbolt) is moved
// aside to path.corrupt-<time> and a fresh one is started; a record that
// does not decode is dropped. Either is reported by the dispatcher's log and
// hazwatch_notify_outbox_damaged_total: a damaged file must not stop the
// alarms of every other sensor.
func OpenOutbox(path string) (*Outbox, error) {
	o, err := openOutbox(path)
	if err == nil || !errors.Is(err, errDamaged) {
		return o, err
	}
	aside := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000")
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, fmt.Errorf("move damaged outbox %s aside: %w (damage: %v)", path, rerr, err)
	}
	o, ferr := openOutbox(path)
	if ferr != nil {
		return nil, ferr
	}
	o.damage = append(o.damage, fmt.Sprintf("%v; moved to %s, started a fresh outbox", err, aside))
	return o, nil
}

// openOutbox opens path and loads its snapshot. bbolt panics on some
// truncated files instead of returning an error: that is damage too.
func openOutbox(path string) (o *Outbox, err error) {
	var db *bolt.DB
	// A truncated file can leave pages that bbolt maps past the end of the
	// file: reading them faults, which must be a panic here, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				_ = closeQuietly(db)
			}
			o, err = nil, fmt.Errorf("%w %s: %v", errDamaged, path, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		if _, serr := os.Stat(path); serr != nil || errors.Is(err, berrors.ErrTimeout) || errors.Is(err, os.ErrPermission) {
			// Missing directory, locked by another process, no permission:
			// nothing wrong with the file itself.
			return nil, fmt.Errorf("open outbox %s: %w", path, err)
		}
		return nil, fmt.Errorf("%w %s: %v", errDamaged, path, err)
	}
	o = &Outbox{db: db, path: path}
	if err := o.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%w %s: %v", errDamaged, path, err)
	}
	o.w = newWriter(o)
	return o, nil
}

// closeQuietly closes a db that may be in a state where Close panics too.
func closeQuietly(db *bolt.DB) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("close: %v", p)
		}
	}()
	return db.Close()
}

// load creates the buckets and reads the snapshot in one transaction.
// Records that do not decode are deleted and noted.
func (o *Outbox) load() error {
	s := &snapshot{}
	err := o.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if tx.Bucket(bucketHandled) != nil {
			if err := tx.DeleteBucket(bucketHandled); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyInstance); len(v) > 0 {
			o.instance = string(v)
		} else {
			var b [4]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			o.instance = hex.EncodeToString(b[:])
			if err := meta.Put(keyInstance, []byte(o.instance)); err != nil {
				return err
			}
		}
		s.cursor = getUint(meta, keyCursor)
		s.nextID = getUint(meta, keyNextID)
		var err error
		if s.entries, err = decodeAll[entry](o, tx, bucketPending); err != nil {
			return err
		}
		inflight := tx.Bucket(bucketInFlight)
		for _, e := range s.entries {
			if inflight.Get(entryKey(e.ID)) != nil {
				s.inFlight++
			}
			s.nextID = max(s.nextID, e.ID)
		}
		if err := clearBucket(tx, bucketInFlight); err != nil {
			return err
		}
		if s.acks, err = decodeAll[Ack](o, tx, bucketAcks); err != nil {
			return err
		}
		if s.silences, err = decodeAll[Silence](o, tx, bucketSilences); err != nil {
			return err
		}
		if s.alerts, err = decodeAll[tracked](o, tx, bucketAlerts); err != nil {
			return err
		}
		s.groups, err = decodeAll[storedGroup](o, tx, bucketGroups)
		return err
	})
	o.snap = s
	return err
}

func clearBucket(tx *bolt.Tx, name []byte) error {
	if err := tx.DeleteBucket(name); err != nil {
		return err
	}
	_, err := tx.CreateBucket(name)
	return err
}

// decodeAll decodes every value of bucket in key order, deleting (and
// noting in o.damage) those that do not decode.
func decodeAll[T any](o *Outbox, tx *bolt.Tx, bucket []byte) ([]*T, error) {
	var out []*T
	var bad [][]byte
	b := tx.Bucket(bucket)
	err := b.ForEach(func(k, v []byte) error {
		t := new(T)
		if err := json.Unmarshal(v, t); err != nil {
			o.damage = append(o.damage, fmt.Sprintf("record %s/%q does not decode, dropped: %v", bucket, k, err))
			bad = append(bad, append([]byte(nil), k...))
			return nil
		}
		out = append(out, t)
		return nil
	})
	for _, k := range bad {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	return out, err
}

func getUint(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putUint(b *bolt.Bucket, key []byte, v uint64) error {
	return b.Put(key, binary.BigEndian.AppendUint64(nil, v))
}

// Backup writes a consistent copy of the outbox to path: what a restart from
// this moment would find, whatever is being committed meanwhile.
func (o *Outbox) Backup(path string) error {
	return o.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o600) })
}

// Close closes the file. Close the dispatchers using it first.
func (o *Outbox) Close() error {
	o.w.close()
	return o.db.Close()
}

// notificationID is the idempotency key of entry id: stable across
// restarts, unique across outbox files.
func (o *Outbox) notificationID(id uint64) string {
	return o.instance + "-" + strconv.FormatUint(id, 10)
}

// batchWrite is what one pipeline batch changes, written in one transaction.
type batchWrite struct {
	entries []*entry
	alerts  map[string]*tracked     // nil: delete
	groups  map[string]*storedGroup // nil: delete
	unacks  []Ack                   // delete each if still the stored ack
	cursor  uint64                  // with setCursor
	setCur  bool
	nextID  uint64
}

func (w *batchWrite) empty() bool {
	return len(w.entries) == 0 && len(w.alerts) == 0 && len(w.groups) == 0 && len(w.unacks) == 0 && !w.setCur
}

// encodedWrite is a batchWrite encoded, ready to be written by another
// goroutine than the one that owns the state it was taken from.
type encodedWrite struct {
	entries, alerts, groups []keyValue
	unacks                  []Ack
	cursor                  uint64
	setCur                  bool
	nextID                  uint64
}

// keyValue is one record to put; a nil value deletes the key.
type keyValue struct{ key, value []byte }

// encode takes w's records as JSON.
func (w *batchWrite) encode() (*encodedWrite, error) {
	e := &encodedWrite{unacks: w.unacks, cursor: w.cursor, setCur: w.setCur, nextID: w.nextID}
	for _, en := range w.entries {
		v, err := json.Marshal(en)
		if err != nil {
			return nil, err
		}
		e.entries = append(e.entries, keyValue{entryKey(en.ID), v})
	}
	for id, t := range w.alerts {
		kv := keyValue{key: []byte(id)}
		if t != nil {
			var err error
			if kv.value, err = json.Marshal(t); err != nil {
				return nil, err
			}
		}
		e.alerts = append(e.alerts, kv)
	}
	for k, g := range w.groups {
		kv := keyValue{key: []byte(k)}
		if g != nil {
			var err error
			if kv.value, err = json.Marshal(g); err != nil {
				return nil, err
			}
		}
		e.groups = append(e.groups, kv)
	}
	return e, nil
}

// commit writes w in one transaction: one fsync for the whole batch.
func (o *Outbox) commit(w *encodedWrite) error {
	return o.db.Update(func(tx *bolt.Tx) error {
		for _, set := range []struct {
			bucket []byte
			kvs    []keyValue
		}{{bucketPending, w.entries}, {bucketAlerts, w.alerts}, {bucketGroups, w.groups}} {
			b := tx.Bucket(set.bucket)
			for _, kv := range set.kvs {
				var err error
				if kv.value == nil {
					err = b.Delete(kv.key)
				} else {
					err = b.Put(kv.key, kv.value)
				}
				if err != nil {
					return err
				}
			}
		}
		acks := tx.Bucket(bucketAcks)
		for _, a := range w.unacks {
			var stored Ack
			if v := acks.Get([]byte(a.ID)); v == nil || json.Unmarshal(v, &stored) != nil || stored.Seq != a.Seq {
				continue // acknowledged again meanwhile: that ack stands
			}
			if err := acks.Delete([]byte(a.ID)); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if w.setCur {
			if err := putUint(meta, keyCursor, w.cursor); err != nil {
				return err
			}
		}
		return putUint(meta, keyNextID, w.nextID)
	})
}

func (o *Outbox) putAck(a Ack) error { return o.put(bucketAcks, []byte(a.ID), a) }

func (o *Outbox) putSilence(s Silence) error { return o.put(bucketSilences, []byte(s.ID), s) }

func (o *Outbox) deleteSilence(id string) error {
	return o.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSilences).Delete([]byte(id)) })
}

// put stores v under key in its own transaction. Batch lets the acks and
// silences of concurrent requests share one fsync.
func (o *Outbox) put(bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return o.db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, data) })
}

// entries returns the pending notifications in the order they were written.
func (o *Outbox) entries() ([]*entry, error) {
	var out []*entry
	err := o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			e := new(entry)
			if err := json.Unmarshal(v, e); err != nil {
				return fmt.Errorf("decode %s/%x: %w", bucketPending, k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// entryKey is big-endian so that the bucket's key order is the write order.
func entryKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }
