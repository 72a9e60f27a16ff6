"""Grading as data: rubrics (gates and weighted criteria) scored over a run's journal rows, its end state and
its transcript, with evidence for every verdict. The last step of the flow: traffic -> ... -> journal -> grade."""
