#!/bin/sh
# The man page documents every command 'khib --help' lists, each in its own
# ".SS NAME" section (roff's \- read as -), and no command khib lacks:
#   doc/check-man.sh build/tools/khib doc/khib.8
set -eu
khib=$1
man=$2

listed=$("$khib" --help | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
documented=$(sed -n '/^\.SH COMMANDS/,/^\.SH /s/^\.SS "\{0,1\}\([^" ]*\)"\{0,1\}$/\1/p' "$man" |
	sed 's/\\-/-/g')
if [ -z "$listed" ]; then
	echo "check-man: '$khib --help' lists no commands" >&2
	exit 1
fi
bad=0
for c in $listed; do
	if ! printf '%s\n' "$documented" | grep -qx -- "$c"; then
		echo "check-man: '$c' (from khib --help) has no section in $man" >&2
		bad=1
	fi
done
for c in $documented; do
	if ! printf '%s\n' "$listed" | grep -qx -- "$c"; then
		echo "check-man: $man documents '$c', which khib --help does not list" >&2
		bad=1
	fi
done
[ "$bad" = 0 ] && echo "check-man: $(echo $listed | wc -w) commands documented"
exit "$bad"
