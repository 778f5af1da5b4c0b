package doc

import (
	"encoding/json"
	"errors"
	"testing"
)

func textOp(t *testing.T, js string) TextOp {
	t.Helper()
	var o TextOp
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		t.Fatalf("unmarshal %s: %v", js, err)
	}
	return o
}

func TestTextOpApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, op, in, want string
		wantErr            error
	}{
		{"insert middle", `[2,"XY",3]`, "hello", "heXYllo", nil},
		{"delete start", `[-2,3]`, "hello", "llo", nil},
		{"replace", `[1,"a",-1,3]`, "hello", "hallo", nil},
		{"unicode", `[1,"é",1]`, "añ", "aéñ", nil},
		{"too short", `[2]`, "hello", "", ErrTextMismatch},
		{"too long", `[9]`, "hello", "", ErrTextMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := textOp(t, tt.op).Apply(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Apply(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTextOpJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{`[3,"a","b",-1,-1,2]`, `[3,"ab",-2,2]`},
		{`[-1,"x"]`, `["x",-1]`},
	} {
		b, err := json.Marshal(textOp(t, tt.in))
		if err != nil || string(b) != tt.want {
			t.Errorf("round trip %s = %s, %v; want %s", tt.in, b, err, tt.want)
		}
	}
	for _, bad := range []string{`{}`, `[0]`, `[""]`, `[1.5]`, `[true]`} {
		var o TextOp
		if err := json.Unmarshal([]byte(bad), &o); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want one", bad)
		}
	}
}

func TestTransform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, a, b, want string
	}{
		{"inserts at the same place keep both, a first", "abc", `[1,"X",2]`, `[1,"Y",2]`, "aXYbc"},
		{"inserts apart", "abc", `["X",3]`, `[3,"Y"]`, "XabcY"},
		{"delete and insert inside it", "abcdef", `[1,-4,1]`, `[3,"Z",3]`, "aZf"},
		{"overlapping deletes", "abcdef", `[1,-3,2]`, `[2,-3,1]`, "af"},
		{"same delete", "abc", `[-3]`, `[-3]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := textOp(t, tt.a), textOp(t, tt.b)
			ap, bp, err := Transform(a, b)
			if err != nil {
				t.Fatal(err)
			}
			ab, err1 := a.Apply(tt.text)
			ab, err2 := bp.Apply(ab)
			ba, err3 := b.Apply(tt.text)
			ba, err4 := ap.Apply(ba)
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				t.Fatal(err)
			}
			if ab != tt.want || ba != tt.want {
				t.Errorf("a·b' = %q, b·a' = %q; want %q", ab, ba, tt.want)
			}
		})
	}
	if _, _, err := Transform(textOp(t, `[2]`), textOp(t, `[3]`)); !errors.Is(err, ErrTextMismatch) {
		t.Errorf("Transform of different base lengths = %v, want ErrTextMismatch", err)
	}
}
