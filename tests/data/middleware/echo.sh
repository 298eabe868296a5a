#!/bin/sh
# Echoes every message unchanged (gor's echo middleware, in plain sh).
while IFS= read -r line; do printf '%s\n' "$line"; done
