"""What the stylesheet must get right for a customer: the next step stands out, text reads."""

from playwright.sync_api import expect

from cases import services
from cases.models import InfoRequestKind
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory

PRIMARY_BLUE = "rgb(11, 87, 208)"
TEXT = "rgb(27, 31, 36)"


def test_primary_buttons_are_blue_on_a_pending_customer_case(page, live_url):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="May I restart it?",
        kind=InfoRequestKind.APPROVAL,
    )
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")

    expect(page.get_by_role("button", name="Approve")).to_have_css(
        "background-color", PRIMARY_BLUE
    )
    expect(page.get_by_role("button", name="Reply", exact=True)).to_have_css(
        "background-color", PRIMARY_BLUE
    )
    expect(page.locator("#approval-heading + [data-question]")).to_contain_text(
        "May I restart it?"
    )


def test_help_page_reads_in_body_text_colour(page, live_url):
    page.goto(f"{live_url}/help/case-statuses/")

    expect(page.get_by_text("Closed cases are never deleted")).to_have_css("color", TEXT)
    expect(page.get_by_text("Closed cases are never deleted")).to_have_css("font-size", "16px")


def test_focus_ring_has_a_dark_inner_ring_that_shows_on_yellow_panels(page, live_url):
    case = CaseFactory(pending_customer=True)
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")

    page.get_by_label("Your reply").focus()
    page.keyboard.press("Shift+Tab")  # keyboard focus, so :focus-visible applies
    page.keyboard.press("Tab")

    reply_box = page.get_by_label("Your reply")
    expect(reply_box).to_be_focused()
    expect(reply_box).to_have_css("box-shadow", "rgb(13, 27, 42) 0px 0px 0px 2px")
    expect(reply_box).to_have_css("outline-color", "rgb(255, 191, 71)")


def test_status_flow_diagram_is_whole_on_a_phone_and_its_labels_read(page, live_url):
    for width, smallest_label in ((390, 12), (1280, 20)):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_url}/help/case-statuses/")

        diagram = page.get_by_role("img", name="Status flow diagram", exact=False)
        box = diagram.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # Label height on screen: about 1.2 times the font size it is drawn at.
        heights = page.locator(".flow-diagram text").evaluate_all(
            "labels => labels.map(label => label.getBoundingClientRect().height)"
        )
        assert min(heights) >= smallest_label, (width, heights)

    page.get_by_text("Every status change in words").click()
    expect(page.get_by_text("Pending Customer → Open: you reply.")).to_be_visible()
