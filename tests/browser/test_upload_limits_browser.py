"""Files over the attachment limits are caught in the browser, before anything is sent."""

from playwright.sync_api import expect

from cases.models import Message
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CaseFactory

MB = 1024 * 1024


def test_reply_with_a_file_over_the_limit_warns_and_keeps_the_text(page, live_url, tmp_path):
    case = CaseFactory(in_progress=True)
    sign_in(page, live_url, case.requester.email, PASSWORD)
    page.goto(f"{live_url}{case.get_absolute_url()}")
    big = tmp_path / "core.dump"
    with big.open("wb") as file:
        file.truncate(11 * MB)  # sparse: nothing is written to disk
    page.get_by_label("Your reply").fill("The dump from last night.")

    page.get_by_label("Attachments").set_input_files(big)
    alert = page.get_by_role("alert").filter(has_text="core.dump is 11 MB")
    expect(alert).to_contain_text("each file can be up to 10 MB")
    page.get_by_role("button", name="Reply").click()
    page.wait_for_load_state("networkidle")

    expect(alert).to_be_visible()
    expect(page.get_by_label("Your reply")).to_have_value("The dump from last night.")
    assert not Message.objects.filter(case=case).exists()
