// Package pdffile reads the structure of a PDF file lazily, from an
// io.ReaderAt.
//
// [Open] reads only the file's skeleton: the header, the last startxref
// (ISO 32000-1 §7.5.5) and the chain of cross-reference sections it leads to
// through /Prev — classic tables with their subsections (§7.5.4),
// cross-reference streams (§7.5.8) and hybrid files, whose tables name a
// stream with /XRefStm (§7.5.8.4). Entries of classic tables are looked up
// in place when an object is asked for; entries of cross-reference streams
// are decoded once. Objects are then read one at a time, by offset, when
// [File.Object], [File.Resolve] or a helper asks for them: an object stored
// in an object stream (§7.5.7) is read by decoding that stream, whose
// objects are then kept for the next request. Nothing else is read, so
// opening a large file and finding its catalog and one page costs a few
// kilobytes of reading whatever the file's size.
//
// Values are the object types of github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types
// (types.Dict, types.Array, types.IndirectRef, types.Name,
// types.StringLiteral, types.HexLiteral, types.Integer, types.Float,
// types.Boolean; a stream is a types.StreamDict whose data is read by
// [File.Stream] or [File.StreamReader]), and the text of one object is
// parsed by pdfcpu's object parser, so a value here is what pdfcpu would
// give for the same bytes. The null object is a nil types.Object (§7.3.9).
//
// An incremental update (§7.5.6) appends objects and a cross-reference
// section chained to the previous one; the newest definition of an object
// wins. [File.Revisions] lists the revisions with their sections,
// trailers and where each ends in the file, [File.SectionEntries] what one
// section defines, and [File.ObjectAt] reads an object where a given
// revision's bytes hold it, for a caller judging what each update changed
// (a revision can also be opened on its own, as the prefix of the file up
// to its Revision.End). In a hybrid file an object that the table marks
// free and the /XRefStm stream defines is read from the stream, as
// §7.5.8.4 has readers search the stream after the table (PDF Reference
// 1.7, example 3.11, marks such objects free in the table).
//
// # Damaged files
//
// Viewers open files that do not quite follow the standard, and so does
// this package, reporting each repair it makes in [File.Repairs]:
//
//   - a cross-reference section or an object that is not at the offset
//     given for it but within Options.RepairWindow bytes of it is read
//     where it is (writers that miscount an end-of-line, bytes inserted
//     before the header);
//   - an object whose endobj keyword is missing ends where the next object
//     header, or a keyword that cannot belong to an object (endstream,
//     xref, trailer, startxref), begins;
//   - a stream whose /Length does not lead to endstream is read up to the
//     endstream keyword;
//   - a file whose cross-reference data cannot be used (no startxref, an
//     offset leading to neither a table nor a stream, a section that does
//     not parse) is indexed by scanning it for object headers and taking
//     its last trailer, streaming through the file with a fixed buffer.
//
// A caller appending an update to a repaired file cannot chain to the
// damaged sections and must write a complete cross-reference section.
//
// Encrypted files (a trailer with /Encrypt, §7.6) open, and
// [File.Encrypted] says so; strings and streams are returned as stored,
// still encrypted.
//
// # Hostile input
//
// Every walk is bounded by [Options]: the length of the /Prev chain, the
// size of one object's text, its nesting, the references [File.Resolve]
// follows, the decoded size of a stream (flate bombs), the object numbers a
// file may use, the nodes of the page tree visited. Loops in the /Prev
// chain and in the page tree are errors, not hangs. Panics of the object
// parser are turned into errors. The methods of a [File] may be called
// from several goroutines.
package pdffile
