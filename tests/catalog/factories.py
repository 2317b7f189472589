"""Factories for the catalog."""

from decimal import Decimal

import factory

from catalog.models import Category, Question, QuestionKind, Service, ServiceStatus


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")
    description = "Services of one kind."


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    description = factory.LazyAttribute(lambda o: f"What {o.name} provides.")
    category = factory.SubFactory(CategoryFactory)
    status = ServiceStatus.PUBLISHED
    price = Decimal("10.00")


class QuestionFactory(factory.django.DjangoModelFactory):
    """A question of a service, at the end of its form (short text unless told)."""

    class Meta:
        model = Question

    service = factory.SubFactory(ServiceFactory)
    position = factory.Sequence(lambda n: n + 1)
    kind = QuestionKind.SHORT_TEXT
    label = factory.Sequence(lambda n: f"Question {n}")


def model_and_gpu_questions(*, actor, service: Service) -> tuple[Question, Question]:
    """The form the question tests start from, added through the service: "Model" (a required
    choice, Standard or Pro) and "Needs a GPU?" (a required yes/no shown only for Pro)."""
    from catalog.models import ConditionOperator
    from catalog.services import question_add

    model = question_add(
        actor=actor,
        service=service,
        kind=QuestionKind.SINGLE_CHOICE,
        label="Model",
        choices=["Standard", "Pro"],
        required=True,
    )
    gpu = question_add(
        actor=actor,
        service=service,
        kind=QuestionKind.YES_NO,
        label="Needs a GPU?",
        required=True,
        condition_question=model,
        condition_operator=ConditionOperator.IS,
        condition_value="Pro",
    )
    return model, gpu
