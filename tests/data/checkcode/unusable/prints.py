"""A file that prints while it loads, then fails."""

print("hello from the student")
raise RuntimeError("this file needs the dataset")
