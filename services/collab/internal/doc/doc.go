// Package doc is the collab document model: a project's clips, the
// operations that edit them, and the server-side operational transformation
// that lets clients edit concurrently.
//
// A project is a log of operations in one total order (its sequence numbers
// 1, 2, 3, …); its document is the replay of that log. Every operation in
// the log was valid on the document left by the operations before it, so
// replaying the log gives every client the same document.
//
// A client sends an operation with the sequence number it last saw, its
// base. Sequence transforms it through the operations appended after the
// base, so that it means on the current document what it meant on the
// client's: scalar fields are last-writer-wins in log order, and caption
// text edits (ot.js-style text operations) are transformed so that
// concurrent inserts both survive and a delete never removes text it did
// not see. This is the client-server OT of Jupiter, Google Wave and ot.js:
// a client keeps at most one operation in flight, and bases its next one on
// the log once it has seen the first come back sequenced.
//
// Besides clip edits the log holds comments (threads anchored to a clip
// and a time), sharing (set_role, remove_member) and compound operations —
// undo, redo and restore — which store the plain operations they applied,
// computed on the head when they are sequenced (undo.go). Log keeps a
// project's log in memory with copies of the document along it, so that
// the document at any sequence is cheap.
//
// The package knows nothing of gRPC, NATS or SQL.
package doc
