from django.db import migrations, models

# The rates over a whole period (interactions ÷ followers, ÷ reach, ÷ views) become the per-post
# rate nearest to each: by followers stays by followers, the others become by reach.
OLD_TO_NEW = {"followers": "post_followers", "reach": "post_reach", "views": "post_reach"}


def per_post(apps, schema_editor):
    ReportSettings = apps.get_model("insights", "ReportSettings")
    for old, new in OLD_TO_NEW.items():
        ReportSettings.objects.filter(engagement_formula=old).update(engagement_formula=new)


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0009_replies_zeroed_by_region"),
    ]

    operations = [
        migrations.RunPython(per_post, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="reportsettings",
            name="engagement_formula",
            field=models.CharField(
                choices=[
                    ("post_reach", "Per post, by reach"),
                    ("post_followers", "Per post, by followers"),
                ],
                default="post_reach",
                max_length=16,
            ),
        ),
    ]
