"""Send one message with Python's smtplib send_message, as the library's envelope tests compare.

Usage: send_message.py HOST PORT MESSAGE_FILE

The message is parsed with the email package's default (compat32) policy, the way
email.message_from_bytes gives it to callers, then handed to SMTP.send_message with no
explicit envelope. What smtplib raised, if anything, is printed as "error: <class>: <text>";
"ok" otherwise. The server (the test's scripted server) records the commands.
"""

import email
import email.policy
import smtplib
import sys


POLICY = email.policy.default


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=POLICY)
    s = smtplib.SMTP(host, port, local_hostname="client.example.test", timeout=10)
    try:
        s.send_message(msg)
        print("ok")
    except Exception as e:  # report any refusal to the test, which asserts it
        print("error: %s: %s" % (type(e).__name__, e))
    finally:
        s.close()


if __name__ == "__main__":
    main()
