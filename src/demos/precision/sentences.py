"""Forty-eight short texts for the real-model drift check: eight topics, six texts each.

Within a topic the texts are near-paraphrases, so similarities come in close pairs: the
situation where a small numerical drift can reorder a nearest-neighbour ranking.
"""

from __future__ import annotations

__all__ = ["SENTENCES", "TOPICS", "topic_of_each"]

SENTENCES: tuple[str, ...] = (
    # refunds
    "How do I get a refund for my order?",
    "I want my money back for this purchase.",
    "Can I return an item and be reimbursed?",
    "What is your refund policy?",
    "The product broke, please refund me.",
    "How long does a refund take to arrive?",
    # passwords
    "I forgot my password and cannot log in.",
    "How do I reset my account password?",
    "The login page says my password is wrong.",
    "Send me a link to change my password.",
    "My account is locked after too many attempts.",
    "Is there a way to recover my login?",
    # shipping
    "When will my package be delivered?",
    "My parcel has not arrived yet.",
    "Can I track my shipment online?",
    "The delivery is three days late.",
    "Do you ship to Canada?",
    "How much does express shipping cost?",
    # weather
    "It will rain heavily tomorrow afternoon.",
    "Expect storms and strong wind tonight.",
    "The forecast says sunny skies all week.",
    "Bring an umbrella, showers are likely.",
    "Temperatures will drop below freezing.",
    "A heat wave is coming this weekend.",
    # cooking
    "Boil the pasta in salted water for ten minutes.",
    "Cook the spaghetti until it is al dente.",
    "Bake the bread at two hundred degrees.",
    "Whisk the eggs with sugar until fluffy.",
    "Simmer the tomato sauce for half an hour.",
    "Roast the vegetables with olive oil and garlic.",
    # football
    "The team won the match two goals to one.",
    "A late penalty decided the final.",
    "The striker scored twice in the first half.",
    "The goalkeeper saved a penalty kick.",
    "The coach was sacked after five defeats.",
    "Fans celebrated the championship in the streets.",
    # programming
    "The function returns None instead of a list.",
    "My Python script crashes with a KeyError.",
    "How do I read a CSV file with pandas?",
    "The unit tests fail only on the CI server.",
    "Use a lock to protect the shared counter.",
    "The program deadlocks when two threads wait.",
    # health
    "I have had a headache for three days.",
    "What helps with a sore throat?",
    "Drink water and rest if you have a fever.",
    "My back hurts after sitting all day.",
    "How many hours of sleep do adults need?",
    "Regular exercise lowers blood pressure.",
)

#: The eight topics, in the order their six texts appear in SENTENCES.
TOPICS: tuple[str, ...] = ("refunds", "passwords", "shipping", "weather", "cooking", "football",
                           "programming", "health")


def topic_of_each() -> list[str]:
    """The topic of each text of SENTENCES, in order (six texts per topic)."""
    per_topic = len(SENTENCES) // len(TOPICS)
    return [TOPICS[i // per_topic] for i in range(len(SENTENCES))]
