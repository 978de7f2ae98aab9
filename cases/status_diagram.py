"""The status flow diagram of the help page, drawn from the state machine itself.

Nodes sit at fixed places (a readable layout cannot be guessed); the edges are the
distinct (source, target) pairs of `Case.status`'s transitions, so a new transition
appears on the page without anyone redrawing it. The template draws the SVG and its
text alternative from `status_flow()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from django_fsm import ANY_OTHER_STATE, ANY_STATE, Transition

from cases.models import Case, Status

# The view box: narrow enough that 15-unit labels stay legible on a 390px phone.
WIDTH = 500
HEIGHT = 272
NODE_WIDTH = 82
WIDE_NODE_WIDTH = 100  # Pending Customer: off the main row, so room for "Customer"
NODE_HEIGHT = 44
MAIN_ROW = 90  # centre line of New → Open → In Progress → Resolved → Closed
PENDING_ROW = 200
REOPEN_LANE = 36  # above the main row
SKIP_LANE = 250  # below Pending Customer: resolving or closing from further back
MIDDLE_LANE = 145  # between the rows
HOP_LANE = 54  # just over the main row, under the reopen lane

# Centres, left to right along the usual path; Pending Customer under In Progress.
POSITIONS: dict[str, tuple[int, int]] = {
    Status.NEW: (50, MAIN_ROW),
    Status.OPEN: (150, MAIN_ROW),
    Status.IN_PROGRESS: (250, MAIN_ROW),
    Status.PENDING_CUSTOMER: (250, PENDING_ROW),
    Status.RESOLVED: (350, MAIN_ROW),
    Status.CLOSED: (450, MAIN_ROW),
}

# What each transition means to the customer, for the text alternative.
WHAT_HAPPENS = {
    "assign": "an engineer takes the case",
    "start_work": "the engineer starts working on a fix",
    "request_info": "the engineer asks you for information",
    "receive_customer_reply": "you reply",
    "resolve": "the engineer resolves it",
    "mark_resolved": "you mark it resolved",
    "close": "you or the engineer close it",
    "confirm": "you confirm it worked",
    "auto_close": "no reply or objection in time, so it closes automatically",
    "reopen": "you or the engineer reopen it",
}


# The lanes that many changes share are named with a verb; one line under or over the
# lane, clear of every box.
LANE_VERBS = {
    "resolve": "resolve",
    "mark_resolved": "resolve",
    "close": "close",
    "auto_close": "close",
    "confirm": "close",
    "reopen": "reopen",
}
LANE_LABEL_PLACES = {"back": (255, REOPEN_LANE - 9), "skip": (190, SKIP_LANE + 17)}


@dataclass(frozen=True)
class Node:
    status: Status
    x: int
    y: int

    @property
    def width(self) -> int:
        return WIDE_NODE_WIDTH if self.y != MAIN_ROW else NODE_WIDTH

    @property
    def left(self) -> int:
        return self.x - self.width // 2

    @property
    def top(self) -> int:
        return self.y - NODE_HEIGHT // 2

    @property
    def lines(self) -> list[tuple[str, float]]:
        """The label, two words on two lines where one line would not fit the box,
        each with its baseline."""
        words = self.status.label.split(" ", 1) if len(self.status.label) > 9 else []
        lines = words or [self.status.label]
        first = self.y + 5 - 9 * (len(lines) - 1)
        return [(line, first + 18 * i) for i, line in enumerate(lines)]


@dataclass
class Edge:
    source: Node
    target: Node
    transitions: list[str] = field(default_factory=list)
    path: str = ""
    kind: str = ""

    @property
    def what_happens(self) -> str:
        return "; ".join(
            WHAT_HAPPENS.get(name, name.replace("_", " ")) for name in self.transitions
        )


@dataclass(frozen=True)
class StatusFlow:
    nodes: list[Node]
    edges: list[Edge]
    width: int = WIDTH
    height: int = HEIGHT
    node_height: int = NODE_HEIGHT

    @property
    def description(self) -> str:
        """Where each status leads, in a sentence each: the diagram's `<desc>`."""
        sentences = []
        for node in self.nodes:
            targets = [edge.target.status.label for edge in self.edges if edge.source == node]
            if targets:
                sentences.append(
                    f"From {node.status.label} a case can move to {', '.join(targets)}."
                )
        return " ".join(sentences)

    @property
    def lane_labels(self) -> list[tuple[str, int, int]]:
        """The shared lanes named by what their transitions do, e.g. "Reopen", with
        where the name goes."""
        labels = []
        for kind, (x, y) in LANE_LABEL_PLACES.items():
            verbs = []
            for edge in self.edges:
                for name in edge.transitions if edge.kind == kind else []:
                    verb = LANE_VERBS.get(name, name.replace("_", " "))
                    if verb not in verbs:
                        verbs.append(verb)
            if verbs:
                labels.append((" or ".join(verbs).capitalize(), x, y))
        return labels


def transition_pairs() -> dict[tuple[str, str], list[str]]:
    """Every (source, target) the state machine allows, with the transitions that make
    it."""
    pairs: dict[tuple[str, str], list[str]] = {}
    for transition in Case._meta.get_field("status").get_all_transitions(Case):
        for pair in expand(transition):
            names = pairs.setdefault(pair, [])
            if transition.name not in names:
                names.append(transition.name)
    return pairs


def expand(transition: Transition) -> list[tuple[str, str]]:
    """A transition's (source, target) pairs: "*" and "+" sources and return-value
    targets spelled out as the statuses they stand for."""
    statuses = list(Status.values)
    targets = getattr(transition.target, "allowed_states", None) or [transition.target]
    pairs = []
    for target in targets:
        if transition.source == ANY_STATE:
            sources = statuses
        elif transition.source == ANY_OTHER_STATE:
            sources = [status for status in statuses if status != target]
        else:
            sources = [transition.source]
        pairs += [(str(source), str(target)) for source in sources]
    return pairs


def _route(source: Node, target: Node) -> tuple[str, str]:
    """The path of an edge and its kind (for its style). Edges that share a lane share
    its line, like a bus: "any of these to any of those"."""
    sx, sy, tx, ty = source.x, source.y, target.x, target.y
    half_w, half_h = NODE_WIDTH // 2, NODE_HEIGHT // 2  # the main row's boxes
    main = sy == ty == MAIN_ROW
    if main and tx - sx == 100:
        return f"M{sx + half_w},{sy} H{tx - half_w}", "main"
    if main and tx > sx and sx == POSITIONS[Status.PENDING_CUSTOMER][0]:
        # Pending Customer is in the way down: join the line into the target between
        # the rows instead.
        return f"M{sx + 32},{sy + half_h} V{MIDDLE_LANE} H{tx - 10} V{ty + half_h}", "skip"
    if main and tx > POSITIONS[Status.PENDING_CUSTOMER][0]:
        # Resolving or closing early: down to the lane under everything, up into it.
        return f"M{sx - 20},{sy + half_h} V{SKIP_LANE} H{tx - 10} V{ty + half_h}", "skip"
    if main and tx > sx:
        # Skipping a step short of Pending Customer's column: hop over the boxes between.
        return f"M{sx + 20},{sy - half_h} V{HOP_LANE} H{tx - 20} V{ty - half_h}", "other"
    if main and tx < sx:
        # Reopening: up from Resolved or Closed, over the top, down into New or Open.
        return f"M{sx + 10},{sy - half_h} V{REOPEN_LANE} H{tx} V{ty - half_h}", "back"
    if source.status == Status.PENDING_CUSTOMER and ty == MAIN_ROW:
        if tx == sx:  # the reply that returns the case to In Progress
            return f"M{sx + 10},{sy - half_h} V{ty + half_h}", "loop"
        if tx == sx - 100:  # the reply that returns the case to Open
            return f"M{sx - 38},{sy - half_h} L{tx + 20},{ty + half_h}", "loop"
        return f"M{sx},{sy + half_h} V{SKIP_LANE} H{tx - 10} V{ty + half_h}", "skip"
    if target.status == Status.PENDING_CUSTOMER and sy == MAIN_ROW:
        if sx == tx:
            return f"M{sx - 10},{sy + half_h} V{ty - half_h}", "loop"
        if sx == tx - 100:
            return f"M{sx + 34},{sy + half_h} L{tx - 24},{ty - half_h}", "loop"
    # Anything the layout has no place for yet: a straight line between the boxes,
    # so that a new transition still shows.
    return _straight(source, target), "other"


def _straight(source: Node, target: Node) -> str:
    dx, dy = target.x - source.x, target.y - source.y

    def border(node: Node, sign: int) -> tuple[float, float]:
        scale = min(
            (node.width / 2) / abs(dx) if dx else float("inf"),
            (NODE_HEIGHT / 2) / abs(dy) if dy else float("inf"),
        )
        return node.x + sign * dx * scale, node.y + sign * dy * scale

    (x1, y1), (x2, y2) = border(source, 1), border(target, -1)
    return f"M{x1:g},{y1:g} L{x2:g},{y2:g}"


@cache
def status_flow() -> StatusFlow:
    return build_status_flow(transition_pairs())


def build_status_flow(pairs: dict[tuple[str, str], list[str]]) -> StatusFlow:
    nodes = {status: Node(Status(status), *POSITIONS[status]) for status in Status.values}
    order = Status.values.index
    edges = []
    for (source, target), names in sorted(
        pairs.items(), key=lambda item: (order(item[0][0]), order(item[0][1]))
    ):
        edge = Edge(nodes[source], nodes[target], names)
        edge.path, edge.kind = _route(edge.source, edge.target)
        edges.append(edge)
    return StatusFlow(nodes=list(nodes.values()), edges=edges)
