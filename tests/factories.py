import factory
from factory.django import DjangoModelFactory

from accounts.models import Agency, Membership, Role, User
from insights.models import Client

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        from allauth.account.models import EmailAddress

        obj.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    slug = factory.Sequence(lambda n: f"agency-{n}")
    time_zone = "Europe/Paris"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    agency = factory.SubFactory(AgencyFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class ClientFactory(DjangoModelFactory):
    class Meta:
        model = Client

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Client {n}")
    time_zone = "Europe/London"


def far_future():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(days=365)


class InstagramAccountFactory(DjangoModelFactory):
    class Meta:
        model = "insights.InstagramAccount"
        skip_postgeneration_save = True

    agency = factory.SubFactory(AgencyFactory)
    client = factory.SubFactory(ClientFactory, agency=factory.SelfAttribute("..agency"))
    ig_user_id = factory.Sequence(lambda n: f"1784140{n:010d}")
    username = factory.Sequence(lambda n: f"brand_{n}")
    login_path = "instagram"
    meta_user_id = factory.Sequence(lambda n: f"9{n:015d}")

    @factory.post_generation
    def token(obj, create, extracted, **kwargs):
        obj.store_token(extracted or f"IGAA-test-token-{obj.ig_user_id}")
        if create:
            obj.save()
