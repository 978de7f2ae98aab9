"""The status flow diagram on the help page is drawn from the state machine."""

import itertools
import re

import pytest
from django_fsm import RETURN_VALUE, Transition

from cases.models import Case, Status
from cases.status_diagram import HEIGHT, WIDTH, build_status_flow, expand, transition_pairs

pytestmark = pytest.mark.django_db

HELP_URL = "/help/case-statuses/"


def allowed_pairs() -> set[tuple[str, str]]:
    """Every (source, target) of `Case.status`, read straight from django-fsm."""
    pairs = set()
    for transition in Case._meta.get_field("status").get_all_transitions(Case):
        targets = getattr(transition.target, "allowed_states", None) or [transition.target]
        pairs |= {(str(transition.source), str(target)) for target in targets}
    return pairs


def drawn_edges(content: str) -> set[tuple[str, str]]:
    return set(
        re.findall(r'<path class="flow-edge[^"]*" data-from="(\w+)" data-to="(\w+)"', content)
    )


def listed_changes(content: str) -> set[tuple[str, str]]:
    listed = content[content.index('<details class="flow-changes">') :]
    return set(re.findall(r'<li data-from="(\w+)" data-to="(\w+)">', listed))


def test_every_transition_is_an_edge_and_every_edge_a_transition(client):
    content = client.get(HELP_URL).content.decode()

    assert drawn_edges(content) == allowed_pairs()
    assert listed_changes(content) == allowed_pairs()


def test_each_change_in_words_says_what_happens(client):
    content = client.get(HELP_URL).content.decode()

    assert (
        '<li data-from="pending_customer" data-to="in_progress">'
        "Pending Customer → In Progress: you reply.</li>"
    ) in content
    assert (
        '<li data-from="closed" data-to="open">Closed → Open: you or the engineer reopen it.</li>'
    ) in content


def test_wildcard_sources_and_return_value_targets_are_spelled_out():
    def method():
        pass

    anywhere = Transition(method, "*", Status.CLOSED, None, None, None, None)
    elsewhere = Transition(method, "+", Status.CLOSED, None, None, None, None)
    either = Transition(
        method,
        Status.PENDING_CUSTOMER,
        RETURN_VALUE(Status.OPEN, Status.IN_PROGRESS),
        None,
        None,
        None,
        None,
    )

    assert {source for source, _ in expand(anywhere)} == set(Status.values)
    assert {source for source, _ in expand(elsewhere)} == set(Status.values) - {Status.CLOSED}
    assert expand(either) == [("pending_customer", "open"), ("pending_customer", "in_progress")]


def test_a_new_transition_is_drawn_even_where_the_layout_has_no_lane_for_it():
    pairs = {**transition_pairs(), ("new", "pending_customer"): ["ask_before_assigning"]}

    flow = build_status_flow(pairs)

    [edge] = [
        e for e in flow.edges if (e.source.status, e.target.status) == ("new", "pending_customer")
    ]
    assert edge.path.startswith("M") and edge.what_happens == "ask before assigning"


def _points(path: str):
    """Points every unit along an SVG path of M, L, H and V commands."""
    x = y = 0.0
    for command, args in re.findall(r"([MLHV])([^MLHV]+)", path):
        numbers = [float(n) for n in re.split(r"[ ,]+", args.strip())]
        if command == "M":
            x, y = numbers
            continue
        nx, ny = {"L": numbers, "H": [numbers[0], y], "V": [x, numbers[0]]}[command]
        steps = int(max(abs(nx - x), abs(ny - y))) or 1
        for i in range(steps + 1):
            yield x + (nx - x) * i / steps, y + (ny - y) * i / steps
        x, y = nx, ny


@pytest.mark.parametrize(
    "pairs",
    [
        transition_pairs(),
        # Whatever transition is added later, its line keeps off the boxes.
        {pair: ["added"] for pair in itertools.permutations(Status.values, 2)},
    ],
    ids=["transitions", "every possible pair"],
)
def test_edges_stay_in_the_picture_and_off_every_box(pairs):
    flow = build_status_flow(pairs)

    for edge in flow.edges:
        for x, y in _points(edge.path):
            assert 0 <= x <= WIDTH and 0 <= y <= HEIGHT, edge
            for node in flow.nodes:
                inside = (
                    node.left + 1 < x < node.left + node.width - 1
                    and node.top + 1 < y < node.top + flow.node_height - 1
                )
                assert not inside, (edge.source.status, edge.target.status, node.status)


def test_the_diagram_is_an_image_with_a_title_and_a_description(client):
    content = client.get(HELP_URL).content.decode()
    svg = content[content.index("<svg") : content.index("</svg>")]

    assert 'role="img"' in svg and 'aria-labelledby="status-flow-title"' in svg
    assert '<title id="status-flow-title">' in svg
    assert "From Pending Customer a case can move to Open, In Progress, Resolved, Closed." in svg
    assert ">Reopen</text>" in svg and ">Resolve or close</text>" in svg
    assert "style=" not in svg
