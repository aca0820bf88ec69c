"""The script wing: "what the test asked for, and what was seen". Fixture rules and their
matching, faults and pacing as values, the emulated rate limit, the journal, and the reply
decision. Pure: touches no network."""
