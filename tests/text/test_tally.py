from terminal.text.events import MessageDelivered, MessageQueued, MessageRead, MessageSent
from terminal.text.precedence import Precedence
from terminal.text.tally import TextTally


def test_the_sim_summary_counts_each_message_once_and_measures_queue_to_receipt():
    tally = TextTally()
    assert tally.summary() == {"sent": 0, "delivered": 0, "read": 0, "delivery_latency_ms": None}
    for event in [MessageQueued("a", Precedence.FLASH, 1.0), MessageSent("a", 1, 1.0),
                  MessageQueued("b", Precedence.ROUTINE, 2.0), MessageSent("b", 1, 2.5),
                  MessageDelivered("a", 1.05), MessageDelivered("b", 2.7), MessageDelivered("b", 9.0),
                  MessageRead("a", 3.0, 2.9), MessageRead("a", 3.1, 2.9)]:
        tally.record(event)
    assert tally.summary() == {"sent": 2, "delivered": 2, "read": 1,
                               "delivery_latency_ms": {"median": 375.0, "max": 700.0}}
