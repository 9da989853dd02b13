"""Answering a page where it lands: an SMS reply, a Slack button, a link in the email.

    codes.py       SMS reply codes per phone number (a state table), given and freed
    replies.py     what a reply says (`12a`, `ack 12`), and the line inviting one
    stamp.py       each page stamped, as it is planned, with its reply code or links
    sms_hook.py    POST /v1/hooks/twilio: Twilio's inbound SMS, signed; TwiML answers
    throttle.py    replies limited per phone number

Every answer acts through the core's one `act(alert_id, action, by, via)`, as the person of
the on-call file who owns the address it came from (or the address itself). The HTTP routes
are the server's (alertd.server.app); what they do is here, in plain data, so that nothing
here knows HTTP.
"""
