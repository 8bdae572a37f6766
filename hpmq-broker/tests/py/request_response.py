"""A paho-mqtt 2.x v5 client checks what the broker passes through: request/response properties
(Response Topic, Correlation Data, Content Type, Payload Format Indicator), user properties in order, and
subscription identifiers. Usage: request_response.py PORT PREFIX. Exits non-zero with a message on failure."""

import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

port = int(sys.argv[1])
prefix = sys.argv[2]
WAIT = 15

received = []
got = threading.Event()
subscribed = threading.Event()


def on_message(client, userdata, msg):
    received.append(msg)
    got.set()


def on_subscribe(client, userdata, mid, reason_codes, properties):
    if any(rc.is_failure for rc in reason_codes):
        sys.exit(f"subscribe refused: {reason_codes}")
    subscribed.set()


def connect(client_id):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    return c


responder = connect(prefix + "-responder")
responder.on_message = on_message
responder.on_subscribe = on_subscribe
sub_props = Properties(PacketTypes.SUBSCRIBE)
sub_props.SubscriptionIdentifier = 42
responder.subscribe(prefix + "/request/#", qos=1, properties=sub_props)
if not subscribed.wait(WAIT):
    sys.exit("no SUBACK")

requester = connect(prefix + "-requester")
props = Properties(PacketTypes.PUBLISH)
props.ResponseTopic = prefix + "/response/1"
props.CorrelationData = b"\x00\x01corr"
props.ContentType = "application/json"
props.PayloadFormatIndicator = 1
props.UserProperty = [("b", "2"), ("a", "1"), ("b", "3")]
info = requester.publish(prefix + "/request/x", b'{"q":1}', qos=1, properties=props)
info.wait_for_publish(WAIT)

if not got.wait(WAIT):
    sys.exit("request not delivered")
m = received[0]
p = m.properties
checks = [
    ("payload", m.payload, b'{"q":1}'),
    ("ResponseTopic", getattr(p, "ResponseTopic", None), prefix + "/response/1"),
    ("CorrelationData", getattr(p, "CorrelationData", None), b"\x00\x01corr"),
    ("ContentType", getattr(p, "ContentType", None), "application/json"),
    ("PayloadFormatIndicator", getattr(p, "PayloadFormatIndicator", None), 1),
    ("UserProperty", getattr(p, "UserProperty", None), [("b", "2"), ("a", "1"), ("b", "3")]),
    ("SubscriptionIdentifier", getattr(p, "SubscriptionIdentifier", None), [42]),
]
failed = [f"{name}: got {got_!r}, want {want!r}" for name, got_, want in checks if got_ != want]
requester.loop_stop()
responder.loop_stop()
if failed:
    sys.exit("; ".join(failed))
print("ok")
