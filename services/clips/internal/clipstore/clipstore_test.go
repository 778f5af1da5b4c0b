package clipstore

import (
	"errors"
	"testing"

	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	"github.com/clipmesh/clipmesh/platform/store"
	"github.com/clipmesh/clipmesh/platform/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := t.Context()
		s := &Store{DB: db}
		for i, id := range []string{"clp_b", "clp_a"} {
			c := &clipsv1.Clip{Id: id, VideoId: "vid_1", State: clipsv1.ClipState_CLIP_STATE_QUEUED, Title: "t"}
			if err := s.Create(ctx, "t1", c, []byte(`{"n":`+string(rune('0'+i))+`}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Create(ctx, "t2", &clipsv1.Clip{Id: "clp_c", VideoId: "vid_1"}, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx, "t1", "vid_1")
		if err != nil || len(list) != 2 || list[0].GetId() != "clp_b" {
			t.Fatalf("list = %v, %v; want clp_b, clp_a", list, err)
		}
		// Another tenant's clip is not found.
		if _, err := s.Get(ctx, "t1", "clp_c"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant's clip: %v", err)
		}
		c, spec, err := s.GetWithSpec(ctx, "t1", "clp_a")
		if err != nil || string(spec) != `{"n":1}` || c.GetTitle() != "t" {
			t.Fatalf("get = %v %s %v", c, spec, err)
		}
		c, err = s.Update(ctx, "t1", "clp_a", func(c *clipsv1.Clip) { c.State = clipsv1.ClipState_CLIP_STATE_CANCELLED })
		if err != nil || c.GetState() != clipsv1.ClipState_CLIP_STATE_CANCELLED {
			t.Fatalf("update = %v, %v", c, err)
		}
		// A final clip stays final.
		c, err = s.Update(ctx, "t1", "clp_a", func(c *clipsv1.Clip) { c.State = clipsv1.ClipState_CLIP_STATE_SUCCEEDED })
		if !errors.Is(err, ErrFinal) || c.GetState() != clipsv1.ClipState_CLIP_STATE_CANCELLED {
			t.Fatalf("update of a final clip = %v, %v", c, err)
		}
		if _, err := s.Update(ctx, "t2", "clp_a", func(*clipsv1.Clip) {}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update across tenants: %v", err)
		}
	})
}
