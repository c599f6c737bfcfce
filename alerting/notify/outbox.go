package notify

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names in the outbox file.
var (
	bucketPending  = []byte("pending")
	bucketAcks     = []byte("acks")
	bucketSilences = []byte("silences")
	bucketHandled  = []byte("handled")
)

// Outbox is the dispatcher's durable store: every notification is written
// here before it is sent and deleted once the channel accepts it, so that
// none is lost or sent twice across a restart. Acknowledgements and the
// silences made through the API live in the same file.
type Outbox struct {
	db *bolt.DB
}

// entry is one notification for one channel.
type entry struct {
	ID       uint64    `json:"id"`
	Channel  string    `json:"channel"`
	Message  Message   `json:"message"`
	Created  time.Time `json:"created"`
	Next     time.Time `json:"next"` // when it may be sent (again)
	Attempts int       `json:"attempts"`
}

// OpenOutbox opens (or creates) the outbox file at path.
func OpenOutbox(path string) (*Outbox, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPending, bucketAcks, bucketSilences, bucketHandled} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create outbox buckets in %s: %w", path, err)
	}
	return &Outbox{db: db}, nil
}

// Close closes the file. Close the dispatchers using it first.
func (o *Outbox) Close() error { return o.db.Close() }

// putEntry stores e, giving it an ID first if it has none.
func (o *Outbox) putEntry(e *entry) error {
	return o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPending)
		if e.ID == 0 {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			e.ID = id
		}
		return putJSON(b, entryKey(e.ID), e)
	})
}

func (o *Outbox) deleteEntry(id uint64) error { return o.delete(bucketPending, entryKey(id)) }

// entries returns the pending notifications in the order they were written.
func (o *Outbox) entries() ([]*entry, error) { return all[entry](o, bucketPending) }

func (o *Outbox) putAck(a Ack) error { return o.put(bucketAcks, []byte(a.ID), a) }

func (o *Outbox) deleteAck(id string) error { return o.delete(bucketAcks, []byte(id)) }

func (o *Outbox) acks() ([]*Ack, error) { return all[Ack](o, bucketAcks) }

func (o *Outbox) putSilence(s Silence) error { return o.put(bucketSilences, []byte(s.ID), s) }

func (o *Outbox) deleteSilence(id string) error { return o.delete(bucketSilences, []byte(id)) }

func (o *Outbox) silences() ([]*Silence, error) { return all[Silence](o, bucketSilences) }

func (o *Outbox) putHandled(h handled) error { return o.put(bucketHandled, []byte(h.ID), h) }

func (o *Outbox) handled() ([]*handled, error) { return all[handled](o, bucketHandled) }

func (o *Outbox) put(bucket, key []byte, v any) error {
	return o.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucket), key, v) })
}

func (o *Outbox) delete(bucket, key []byte) error {
	return o.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete(key) })
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// all decodes every value of bucket, in key order.
func all[T any](o *Outbox, bucket []byte) ([]*T, error) {
	var out []*T
	err := o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			t := new(T)
			if err := json.Unmarshal(v, t); err != nil {
				return fmt.Errorf("decode %s/%q: %w", bucket, k, err)
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

// entryKey is big-endian so that the bucket's key order is the write order.
func entryKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }
