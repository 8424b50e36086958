#!/bin/sh
# test_sonoctl_graph.sh SONOD SONOCTL - `sonoctl graph`, `connect`,
# `disconnect` and `node` against a real sonod (null backend): a gain node
# wired csound -> gain -> out, the readable and --dot forms, a refused cycle,
# and the error exits.
set -u

SONOD=$1
SONOCTL=$2

. "$(dirname "$0")/lib.sh"
lib_init sonoctl-graph-it

# Never the machine's sonod.conf: the test says everything.
start_sonod --no-config --backend null --socket "$SOCK" --sample-rate 48000 --block-size 256

check "graph at start" 0 'csound:out_1 +-> out:in_1' graph
check "node --help" 0 'node gain ID G' node --help

G=$(ctl node new gain --channels 2)
case "$G" in
  ''|*[!0-9]*) fail "node new gain printed '$G', not a node id"; G=1 ;;
  *) echo "ok: node new gain -> $G" ;;
esac
check "node new --json" 0 '^\{"node":[0-9]+\}$' --json node new gain
G2=$(ctl --json node new gain | sed 's/[^0-9]//g')

# csound -> gain -> out, instead of csound -> out.
check "disconnect csound out" 0 'disconnected csound:out_1 -> out:in_1 at frame' \
  disconnect csound:out_1 out:in_1
ctl disconnect csound:out_2 out:in_2 >/dev/null || fail "disconnect csound:out_2"
check "connect csound gain" 0 "connected csound:out_1 -> $G:in_1 at frame" \
  connect csound:out_1 "$G:in_1" --gain 0.5
ctl connect csound:out_2 "$G:in_2" >/dev/null || fail "connect csound:out_2"
check "connect gain out" 0 'frame' connect "$G:out_1" out:in_1
check "connect --json" 0 '^\{"frame":[0-9]+\}$' --json connect "$G:out_2" out:in_2

out=$(ctl graph)
echo "$out"
printf '%s\n' "$out" | grep -Eq "^ +$G +gain .* active +1" || fail "graph does not list gain node $G as active"
printf '%s\n' "$out" | grep -Eq "^ +$G2 +gain .* inactive" || fail "graph does not list node $G2 as inactive"
printf '%s\n' "$out" | grep -Eq "csound:out_1 +-> $G:in_1 +gain 0.5" || fail "graph lacks csound -> $G"
printf '%s\n' "$out" | grep -Eq "$G:out_1 +-> out:in_1 +gain 1" || fail "graph lacks $G -> out"
printf '%s\n' "$out" | grep -Eq "csound:out_1 +-> out:in_1" && fail "graph still has csound -> out"
printf '%s\n' "$out" | grep -Eq "^order:.*csound.* -> $G -> .*out" || fail "order is not csound, $G, out"
check "graph --json" 0 '"connections":\[' --json graph

dot=$(ctl graph --dot)
printf '%s\n' "$dot" | head -n 1 | grep -q '^digraph' || fail "--dot does not start with digraph"
printf '%s\n' "$dot" | grep -Fq "\"csound\":\"out_1\" -> \"$G\":\"in_1\" [label=\"0.5\"]" ||
  fail "--dot lacks the csound -> $G edge: $dot"
printf '%s\n' "$dot" | grep -Fq "\"$G\":\"out_1\" -> \"out\":\"in_1\"" || fail "--dot lacks the $G -> out edge"
printf '%s\n' "$dot" | grep -Eq "^  \"$G2\" .*style=dashed" || fail "--dot: inactive node $G2 not dashed"
[ "$(printf '%s\n' "$dot" | tail -n 1)" = "}" ] || fail "--dot does not end with }"
if command -v dot >/dev/null 2>&1; then
  printf '%s\n' "$dot" | dot -Tsvg >/dev/null 2>"$DIR/dot.err" || fail "dot refused the output: $(cat "$DIR/dot.err")"
else
  echo "graphviz not installed: --dot checked for structure only"
fi
echo "ok: graph --dot"

# A cycle is refused with exit 1, and the message names it.
ctl connect "$G:out_1" "$G2:in_1" >/dev/null || fail "connect $G -> $G2"
check "cycle refused" 1 'cycle' connect "$G2:out_1" "$G:in_1"
check "unknown node" 1 'unknown_node' connect 999:out_1 out:in_1
check "unknown port" 1 'unknown_port' connect "$G:out_9" out:in_1
check "usage" 2 'wants FROM and TO' connect csound:out_1

check "node gain" 0 "node.gain $G 0.25 at frame" node gain "$G" 0.25 --delay 0.01
check "node mute" 0 'at frame' node mute "$G" on
check "node bypass" 0 'at frame' node bypass "$G" on
check "graph shows bypass,mute" 0 "^ +$G +gain .*active,bypass,mute +0.25" graph
check "node mute off" 0 'at frame' node mute "$G" off
check "node bad on/off" 2 'on or off' node bypass "$G" maybe
check "node gain out --json" 0 '^\{"frame":[0-9]+\}$' --json node gain out 1

check "disconnect" 0 'disconnected' disconnect "$G:out_1" out:in_1
out=$(ctl graph)
printf '%s\n' "$out" | grep -Eq "$G:out_1 +-> out:in_1" && fail "disconnected connection still listed"
check "disconnect again" 1 'not_connected' disconnect "$G:out_1" out:in_1
check "node delete" 0 'at frame' node delete "$G2"
out=$(ctl graph)
printf '%s\n' "$out" | grep -Eq "^ +$G2 +gain" && fail "deleted node $G2 still listed"
check "node delete unknown" 1 'unknown_node' node delete 999

# A Csound audio bus as a graph source.
BUS=$(ctl bus new audio | sed 's/^bus \([0-9]*\) .*/\1/')
BUS2=$(ctl bus new audio | sed 's/^bus \([0-9]*\) .*/\1/')
B=$(ctl node new bus "$BUS" "$BUS2")
case "$B" in
  ''|*[!0-9]*) fail "node new bus printed '$B', not a node id"; B=1 ;;
  *) echo "ok: node new bus $BUS $BUS2 -> $B" ;;
esac
check "connect bus node" 0 'at frame' connect "$B:out_2" out:in_2
out=$(ctl graph)
printf '%s\n' "$out" | grep -Eq "^ +$B +bus +bus $BUS,$BUS2 +0 +2 +active" ||
  fail "graph does not list bus node $B: $out"
check "graph --dot bus node" 0 "\"$B\":\"out_2\" -> \"out\":\"in_2\"" graph --dot
check "graph --json buses" 0 "\"buses\":\\[$BUS,$BUS2\\]" --json graph
check "exposed bus not freed" 1 'busy' bus free "$BUS"
check "bus exposed twice" 1 'busy' node new bus "$BUS"
check "node new bus usage" 2 'bus is a number' node new bus x
check "node new bus control" 1 'bad_value' node new bus "$(ctl bus new control | sed 's/^bus \([0-9]*\) .*/\1/')"
check "node delete bus" 0 'at frame' node delete "$B"
check "node delete bus again" 1 'unknown_node' node delete "$B"

ctl shutdown >/dev/null
wait "$DPID"
DPID=
[ "$FAILS" = 0 ] || { echo "$FAILS failures"; cat "$DIR/sonod.log"; exit 1; }
echo "all passed"
