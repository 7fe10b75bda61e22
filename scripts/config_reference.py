"""Print the config reference table (Markdown) that the README embeds; a test keeps them in sync."""

from sentiq.config import describe_fields


def reference_markdown() -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, default, description in describe_fields():
        lines.append(f"| `{key}` | `{default}` | {description.replace('|', '/')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown())
