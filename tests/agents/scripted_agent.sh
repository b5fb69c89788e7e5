#!/bin/sh
# SCRIPTED STAND-IN for an LLM coding agent: no LLM is reachable from the test machines, so this
# script does what an agent visibly does — edits a file, commits it, and keeps printing.
echo "agent: starting as $(id -u)"
echo "fixed by the agent" > fix.txt
if command -v git >/dev/null 2>&1; then
  git add fix.txt && git commit -qm "agent: fix" && echo "agent: committed"
fi
i=0
while true; do
  i=$((i + 1))
  echo "agent: tick $i"
  sleep 0.3
done
