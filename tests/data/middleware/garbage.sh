#!/bin/sh
# Writes a line that is not hex before every echoed message.
while IFS= read -r line; do echo "zz this is not hex"; printf '%s\n' "$line"; done
