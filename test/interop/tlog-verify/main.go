// A verifier of Milagro D-TA transparency logs written with code no one in this project wrote:
// golang.org/x/mod/sumdb/tlog (RFC 6962 hashing, record and tree proofs, tile checking) and
// golang.org/x/mod/sumdb/note (Ed25519 signed notes), as Debian ships them
// (golang-golang-x-mod-dev). test/interop/tlog.test.ts builds it offline in GOPATH mode and runs
// it on what our node produced; it prints one line per check and exits 1 on the first failure.
//
// Input (argument 1): a JSON file
//
//	{ "vkey": "<name+hash+key>",
//	  "checkpoints": ["<signed note>", ...],          // one per tree size checked
//	  "inclusion":   [{"checkpoint": i, "index": n, "leaf": "<b64>", "proof": ["<b64>", ...]}],
//	  "consistency": [{"first": i, "second": j, "proof": [...]}],  // indexes into checkpoints
//	  "tiles": "<folder with tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>]>",
//	  "tileCheckpoint": i }
//
// A checkpoint's origin line differs from sumdb's fixed "go.sum database tree" header, so its
// first line is swapped for that header before tlog.ParseTree reads size and root. The empty
// tree is where the two disagree: tlog defines its hash as 32 zero bytes, RFC 9162 (and our log)
// as SHA-256 of nothing; a size-0 checkpoint is checked against the latter and the difference
// printed. tlog's tile paths carry the tile height (tile/8/L/N); C2SP's do not (tile/L/N): the
// TileReader below reads C2SP paths and is otherwise given exactly x/mod's Tile coordinates.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type input struct {
	Vkey        string   `json:"vkey"`
	Checkpoints []string `json:"checkpoints"`
	Inclusion   []struct {
		Checkpoint int      `json:"checkpoint"`
		Index      int64    `json:"index"`
		Leaf       string   `json:"leaf"`
		Proof      []string `json:"proof"`
	} `json:"inclusion"`
	Consistency []struct {
		First  int      `json:"first"`
		Second int      `json:"second"`
		Proof  []string `json:"proof"`
	} `json:"consistency"`
	Tiles          string `json:"tiles"`
	TileCheckpoint int    `json:"tileCheckpoint"`
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func b64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		fail("base64 %q: %v", s, err)
	}
	return b
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		b := b64(s)
		if len(b) != tlog.HashSize {
			fail("a proof hash of %d bytes", len(b))
		}
		copy(out[i][:], b)
	}
	return out
}

// openCheckpoint verifies the note signature with x/mod/sumdb/note and parses size and root with tlog.ParseTree.
func openCheckpoint(msg string, verifier note.Verifier, origin string) tlog.Tree {
	n, err := note.Open([]byte(msg), note.VerifierList(verifier))
	if err != nil {
		fail("note.Open: %v", err)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != origin {
		fail("checkpoint signed by %v, expected %s", n.Sigs, origin)
	}
	lines := strings.SplitN(n.Text, "\n", 2)
	if lines[0] != origin {
		fail("origin line %q, expected %q", lines[0], origin)
	}
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + lines[1]))
	if err != nil {
		fail("tlog.ParseTree: %v", err)
	}
	return tree
}

// c2spTiles reads tiles from a folder in the C2SP layout. x/mod asks for hash tiles by (H, L, N, W),
// possibly narrower than the file it is in: a full tile, or the partial tile of the checkpoint.
type c2spTiles struct {
	dir  string
	size int64
}

func (r *c2spTiles) Height() int { return 8 }

func (r *c2spTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		full := t
		full.W = 256
		// x/mod's path with the height element removed is the C2SP path
		path := strings.Replace(full.Path(), "tile/8/", "tile/", 1)
		data, err := os.ReadFile(filepath.Join(r.dir, path))
		if err != nil {
			have := tlog.Tile{H: 8, L: t.L, N: t.N, W: int((r.size >> uint(8*t.L)) - t.N*256)}
			if have.W <= 0 || have.W >= 256 {
				return nil, fmt.Errorf("no tile %s: %v", path, err)
			}
			path = strings.Replace(have.Path(), "tile/8/", "tile/", 1)
			if data, err = os.ReadFile(filepath.Join(r.dir, path)); err != nil {
				return nil, err
			}
		}
		if len(data) < t.W*tlog.HashSize || len(data)%tlog.HashSize != 0 {
			return nil, fmt.Errorf("tile %s: %d bytes for a width of %d", path, len(data), t.W)
		}
		out[i] = data[:t.W*tlog.HashSize]
	}
	return out, nil
}

func (r *c2spTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		fail("input: %v", err)
	}
	verifier, err := note.NewVerifier(in.Vkey)
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	origin := verifier.Name()
	trees := make([]tlog.Tree, len(in.Checkpoints))
	emptyRFC := sha256.Sum256(nil)
	for i, c := range in.Checkpoints {
		trees[i] = openCheckpoint(c, verifier, origin)
		if trees[i].N == 0 {
			if trees[i].Hash != tlog.Hash(emptyRFC) {
				fail("the empty tree's root is %v, not SHA-256()", trees[i].Hash)
			}
			zero, _ := tlog.TreeHash(0, nil)
			fmt.Printf("empty tree: checkpoint root %x (RFC 9162), tlog.TreeHash(0) %x\n", trees[i].Hash[:], zero[:])
		}
	}
	fmt.Printf("checkpoints: %d verified with note.Open\n", len(trees))

	for _, p := range in.Inclusion {
		tree := trees[p.Checkpoint]
		if err := tlog.CheckRecord(hashes(p.Proof), tree.N, tree.Hash, p.Index, tlog.RecordHash(b64(p.Leaf))); err != nil {
			fail("CheckRecord leaf %d of %d: %v", p.Index, tree.N, err)
		}
	}
	fmt.Printf("inclusion: %d proofs verified with tlog.CheckRecord\n", len(in.Inclusion))

	checked := 0
	for _, p := range in.Consistency {
		older, newer := trees[p.First], trees[p.Second]
		if older.N == 0 {
			continue // tlog defines no proof from the empty tree (and hashes it otherwise)
		}
		if err := tlog.CheckTree(hashes(p.Proof), newer.N, newer.Hash, older.N, older.Hash); err != nil {
			fail("CheckTree %d → %d: %v", older.N, newer.N, err)
		}
		checked++
	}
	fmt.Printf("consistency: %d proofs verified with tlog.CheckTree\n", checked)

	if in.Tiles == "" {
		return
	}
	tree := trees[in.TileCheckpoint]
	reader := &c2spTiles{dir: in.Tiles, size: tree.N}
	hr := tlog.TileHashReader(tree, reader)
	root, err := tlog.TreeHash(tree.N, hr)
	if err != nil || root != tree.Hash {
		fail("TreeHash from the tiles: %v %v", root, err)
	}
	for _, index := range []int64{0, tree.N / 3, tree.N / 2, tree.N - 1} {
		proof, err := tlog.ProveRecord(tree.N, index, hr)
		if err != nil {
			fail("ProveRecord %d from the tiles: %v", index, err)
		}
		leafHashes, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
		if err != nil || tlog.CheckRecord(proof, tree.N, tree.Hash, index, leafHashes[0]) != nil {
			fail("a record proof made from the tiles does not verify: %v", err)
		}
	}
	for _, older := range trees {
		if older.N == 0 || older.N > tree.N {
			continue
		}
		proof, err := tlog.ProveTree(tree.N, older.N, hr)
		if err != nil || tlog.CheckTree(proof, tree.N, tree.Hash, older.N, older.Hash) != nil {
			fail("a tree proof %d → %d made from the tiles does not verify: %v", older.N, tree.N, err)
		}
	}
	// Entry bundles (C2SP): uint16-length-prefixed leaves; each must hash to its level-0 tile entry.
	entries := int64(0)
	for n := int64(0); n*256 < tree.N; n++ {
		w := tree.N - n*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: n, W: int(w)}
		path := strings.Replace(strings.Replace(t.Path(), "tile/8/data/", "tile/entries/", 1), "tile/8/", "tile/", 1)
		data, err := os.ReadFile(filepath.Join(in.Tiles, path))
		if err != nil {
			fail("entry bundle %s: %v", path, err)
		}
		var leaves [][]byte
		for len(data) > 0 {
			if len(data) < 2 || len(data) < 2+int(binary.BigEndian.Uint16(data)) {
				fail("entry bundle %s is truncated", path)
			}
			l := int(binary.BigEndian.Uint16(data))
			leaves = append(leaves, data[2:2+l])
			data = data[2+l:]
		}
		if int64(len(leaves)) != w {
			fail("entry bundle %s holds %d entries, not %d", path, len(leaves), w)
		}
		indexes := make([]int64, w)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, n*256+int64(i))
		}
		want, err := hr.ReadHashes(indexes)
		if err != nil {
			fail("level-0 hashes of bundle %d: %v", n, err)
		}
		for i, leaf := range leaves {
			if got := tlog.RecordHash(leaf); !bytes.Equal(got[:], want[i][:]) {
				fail("entry %d does not hash to its tile entry", n*256+int64(i))
			}
		}
		entries += w
	}
	fmt.Printf("tiles: tree of %d rebuilt by tlog.TileHashReader, %d entries match their hashes\n", tree.N, entries)
	fmt.Println("OK")
}
