"""The tests sign requests as Twilio and Slack document it, with code of their own: checked
here against the examples of the providers' documentation (known answers)."""

from __future__ import annotations

from tests.respond.conftest import slack_signature, twilio_signature


def test_the_twilio_signer_gives_the_documented_signature() -> None:
    # twilio.com/docs/usage/security, "Validating Signatures from Twilio": this URL, these
    # parameters and the auth token 12345.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_slack_signer_gives_the_documented_signature() -> None:
    # api.slack.com/authentication/verifying-requests-from-slack: a slash command's body.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert slack_signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )
