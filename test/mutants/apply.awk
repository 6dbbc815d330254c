# Applies one mutant to a C file: prints the file with the text FROM
# replaced by TO on exactly one line, and writes that line's number to W.
#
#   awk -v func_name=F -v after=A -v from=X -v to=Y -v where=W \
#       -f apply.awk file.c
#
# The search is confined to the definition of function F (from the line
# that starts with "F(" to the next line that is "}"), or to the whole
# file when F is empty.  Without A, X must occur on exactly one line of
# that range, once; with A, A must occur on exactly one line of the range,
# and the first line after it that holds X is the one changed.  Texts are
# compared as plain strings, never as patterns.  Exits 0, or 2 with a
# reason when the text is not where the list says (the code moved).

function fail(msg) {
	print "apply.awk: " FILENAME ": " msg > "/dev/stderr"
	exit 2
}

{
	line[NR] = $0
}

END {
	first = 1
	last = NR
	if (func_name != "") {
		first = 0
		for (i = 1; i <= NR; i++) {
			if (index(line[i], func_name "(") == 1) {
				if (first)
					fail("function " func_name "() defined twice")
				first = i
			}
		}
		if (!first)
			fail("no definition of " func_name "() (a line starting \"" func_name "(\")")
		last = 0
		for (i = first + 1; i <= NR; i++)
			if (line[i] == "}") {
				last = i
				break
			}
		if (!last)
			fail(func_name "() has no closing \"}\" line")
	}
	start = first
	if (after != "") {
		anchor = 0
		for (i = first; i <= last; i++) {
			if (index(line[i], after)) {
				if (anchor)
					fail("anchor \"" after "\" on lines " anchor " and " i)
				anchor = i
			}
		}
		if (!anchor)
			fail("anchor \"" after "\" not found in " (func_name != "" ? func_name "()" : "the file"))
		start = anchor + 1
	}
	at = 0
	for (i = start; i <= last; i++) {
		if (!index(line[i], from))
			continue
		if (at && after == "")
			fail("\"" from "\" on lines " at " and " i " (add an anchor)")
		if (!at)
			at = i
	}
	if (!at)
		fail("\"" from "\" not found in " (func_name != "" ? func_name "()" : "the file") (after != "" ? " after \"" after "\"" : ""))
	text = line[at]
	pos = index(text, from)
	if (after == "" && index(substr(text, pos + length(from)), from))
		fail("\"" from "\" twice on line " at)
	line[at] = substr(text, 1, pos - 1) to substr(text, pos + length(from))
	for (i = 1; i <= NR; i++)
		print line[i]
	print at > where
}
