#!/bin/sh
# valgrind-report.sh DIR: the verdict of make check-valgrind.  Every
# process valgrind ran wrote DIR/PID.xml (VALGRIND_OPTS --xml-file), even a
# tickd an end-to-end test killed; this prints each error found there, a
# memory error or a definite leak, with its first frames, and exits 1 if
# there was any.

dir=${1:?usage: valgrind-report.sh DIR}
n=0
for f in "$dir"/*.xml; do
	[ -f "$f" ] || continue
	grep -q '<error>' "$f" || continue
	n=$((n + 1))
	echo "valgrind: errors in $f:"
	awk '
		/<error>/ { inerr = 1; frames = 0 }
		/<\/error>/ { inerr = 0; print "" }
		inerr && /<kind>|<text>|<what>/ {
			gsub(/^[ \t]*<[a-z]+>|<\/[a-z]+>[ \t]*$/, "")
			print "  " $0
		}
		inerr && /<fn>/ && frames < 8 {
			gsub(/^[ \t]*<fn>|<\/fn>[ \t]*$/, "")
			print "    at " $0
			frames++
		}
	' "$f"
done
if [ "$n" -ne 0 ]; then
	echo "valgrind: $n process(es) with errors"
	exit 1
fi
echo "valgrind: no error and no definite leak in $(ls "$dir" | wc -l) processes"
exit 0
