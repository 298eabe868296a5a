#!/usr/bin/env python3
# Echoes, 2 ms per message: coreplay must wait for it (back-pressure), never drop.
import sys, time
for line in sys.stdin:
    time.sleep(0.002)
    sys.stdout.write(line)
    sys.stdout.flush()
