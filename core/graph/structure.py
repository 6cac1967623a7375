"""A subgraph as a graph to draw: nodes for its ops, its inputs and outputs (and, when asked, its
constant tensors), edges for the tensors that flow between them.

An edge is one producer → consumer pair of a tensor that is not constant: a tensor read by three
ops gives three edges, one read twice by the same op gives one. Constant inputs (weights, biases,
shapes) are folded into the op that reads them, as Netron does, unless `with_constants` asks for
them as nodes of their own. A tensor that is neither constant nor produced nor a graph input (an
LSTM's state variable, an unwritten intermediate) has no producer: it is folded like a constant.

Node sizes are decided here, not by a toolkit, so the app, the SVG export and the layout agree:
a node is as wide as its longer text line in an approximate average character width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..formatting import elide_middle, tensor_shape_text
from ..reading.model import Subgraph

NODE_HEIGHT = 34.0
CHAR_WIDTH = 7.2  # width of a character of the bold node font (mostly capitals), in layout units
PADDING = 14.0  # each side; room for the corner mark some overlays draw
MIN_WIDTH = 64.0
MAX_CHARS = 30  # longer titles and shapes are shortened in the middle

OP, INPUT, OUTPUT, CONSTANT = "op", "input", "output", "constant"


@dataclass(frozen=True)
class Node:
    id: int  # position in OpGraph.nodes
    kind: str  # OP, INPUT, OUTPUT or CONSTANT
    title: str  # the op type; for other nodes "input", "output" or the tensor's name
    detail: str  # the shape of the op's first output, or of the node's tensor
    op: int = -1  # operator index, for OP nodes
    tensor: int = -1  # tensor index, for INPUT, OUTPUT and CONSTANT nodes
    mark: str = ""  # "custom" or "Flex" for such ops
    width: float = MIN_WIDTH
    height: float = NODE_HEIGHT


@dataclass(frozen=True)
class Edge:
    source: int  # node ids
    target: int
    tensor: int


@dataclass(frozen=True)
class OpGraph:
    subgraph: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    with_constants: bool
    folded: dict[int, tuple[int, ...]] = field(default_factory=dict)  # op index -> tensors folded into it

    @property
    def op_count(self) -> int:
        return sum(1 for n in self.nodes if n.kind == OP)

    def node_of_op(self, op: int) -> int:
        """The node id of operator `op` (op nodes come first, in execution order)."""
        return op

    def nodes_of_tensor(self, tensor: int) -> list[int]:
        """Nodes an edge of `tensor` touches (its producer and consumers), or its own node."""
        ids = {n.id for n in self.nodes if n.tensor == tensor}
        for e in self.edges:
            if e.tensor == tensor:
                ids.update((e.source, e.target))
        return sorted(ids)


def _node_width(*lines: str) -> float:
    return max(MIN_WIDTH, max(len(line) for line in lines) * CHAR_WIDTH + 2 * PADDING)


def build_graph(sg: Subgraph, *, with_constants: bool = False) -> OpGraph:
    """The graph of subgraph `sg`. Op nodes come first, node id = operator index."""
    tensors = sg.tensors
    nodes: list[Node] = []
    for op in sg.operators:
        first = next((t for t in op.outputs if 0 <= t < len(tensors)), -1)
        detail = tensor_shape_text(tensors[first]) if first >= 0 else ""
        mark = "Flex" if op.is_flex else "custom" if op.is_custom else ""
        title = elide_middle(op.opcode, MAX_CHARS)
        # Custom and Flex ops say so in every overlay, not only in the op-type colours.
        detail = elide_middle(f"{detail} · {mark}" if mark else detail, MAX_CHARS)
        nodes.append(Node(len(nodes), OP, title, detail, op=op.index, mark=mark, width=_node_width(title, detail)))

    producer: dict[int, int] = {t: op for t, op in sg.producers.items() if 0 <= t < len(tensors)}
    graph_inputs = set(sg.inputs)

    def tensor_node(kind: str, t: int, title: str) -> int:
        detail = elide_middle(tensor_shape_text(tensors[t]), MAX_CHARS)
        title = elide_middle(title, MAX_CHARS)
        nodes.append(Node(len(nodes), kind, title, detail, tensor=t, width=_node_width(title, detail)))
        return nodes[-1].id

    for t in sg.inputs:
        if 0 <= t < len(tensors) and t not in producer:
            producer[t] = tensor_node(INPUT, t, "input")

    edges: dict[tuple[int, int, int], None] = {}  # ordered and without repeats
    folded: dict[int, tuple[int, ...]] = {}
    constant_nodes: dict[int, int] = {}
    for op in sg.operators:
        kept: list[int] = []
        for t in op.inputs:
            if not 0 <= t < len(tensors):
                continue
            source = producer.get(t)
            if source is None or tensors[t].is_constant and t not in graph_inputs:
                if with_constants and tensors[t].is_constant:
                    if t not in constant_nodes:
                        constant_nodes[t] = tensor_node(CONSTANT, t, tensors[t].name or f"t{t}")
                    edges[(constant_nodes[t], op.index, t)] = None
                elif t not in kept:
                    kept.append(t)
                continue
            edges[(source, op.index, t)] = None
        if kept:
            folded[op.index] = tuple(kept)

    for t in sg.outputs:
        if 0 <= t < len(tensors) and t in producer:
            out = tensor_node(OUTPUT, t, "output")
            edges[(producer[t], out, t)] = None

    return OpGraph(sg.index, tuple(nodes), tuple(Edge(*key) for key in edges), with_constants, folded)
