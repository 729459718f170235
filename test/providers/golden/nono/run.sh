#!/bin/sh
# Rendered by TapPass from policy v7
exec nono run --allow /tmp/build-cache --allow /work/repo --read /usr/share/dict -- "$@"
