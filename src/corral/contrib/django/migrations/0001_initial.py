from django.db import migrations, models


class Migration(migrations.Migration):
    """No table (``managed = False``): content type and permissions only."""

    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Job",
            fields=[("id", models.CharField(max_length=36, primary_key=True, serialize=False))],
            options={"managed": False, "default_permissions": ("view", "change", "delete"),
                     "verbose_name": "job", "verbose_name_plural": "jobs"},
        ),
    ]
