#!/bin/sh
# Rendered by TapPass from policy v7: runs a command under the Seatbelt profile beside this file.
exec sandbox-exec -f "$(dirname "$0")/tappass.sb" "$@"
