"""What a leader reads: figures, the first-screen headline, wording of uncertainty, the Word brief."""
