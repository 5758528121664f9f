import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="CrawlJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("url", models.URLField()),
                ("max_pages", models.PositiveIntegerField(default=10)),
                ("job_id", models.CharField(blank=True, help_text="its corral job",
                                            max_length=36)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.CreateModel(
            name="Page",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("url", models.URLField()),
                ("fetched_at", models.DateTimeField(auto_now_add=True)),
                ("crawl", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                            related_name="pages", to="crawl.crawljob")),
            ],
        ),
    ]
