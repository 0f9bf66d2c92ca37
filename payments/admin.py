"""The back office of money: payments and refunds, the audit log, Stripe accounts, fees.

Everything is scoped by ``OrganizerScopedAdmin``. Staff of an organizer see
its payments and take money at the desk; owners and admins also refund,
onboard on Stripe and see the balance. Nobody edits the money log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from events.access import (
    EDIT_ROLES,
    MANAGE_ROLES,
    has_role_for,
    is_platform_staff,
    organizer_ids,
    scope_to_user,
)
from events.admin_scoping import OrganizerScopedInline, ReadOnlyScopedAdmin
from events.models import Event, Organizer
from payments import stripe
from payments.accounts import account_balance, account_refresh, onboarding_url
from payments.checkout import payment_settle_on_site
from payments.forms import RefundForm
from payments.models import ConnectedAccount, MoneyLog, Payment, Refund
from payments.refunds import RefundError, refund_create, refundable
from payments.selectors import fee_report


class EventFilter(admin.SimpleListFilter):
    """Payments by event, listing only the events the user may see."""

    title = "event"
    parameter_name = "event"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        events = scope_to_user(Event.objects.order_by("-start_date"), request.user)
        return [(str(event.pk), event.name) for event in events]  # Django compares str()

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(registration__event_id=self.value())
        return queryset


class MoneyLogInline(OrganizerScopedInline, admin.TabularInline):
    """The payment's lines of the money log, on its page."""

    model = MoneyLog
    fields = readonly_fields = ("created_at", "action", "amount", "currency", "actor", "detail")
    extra = 0
    can_delete = False
    change_roles = delete_roles = frozenset()


@admin.register(Payment)
class PaymentAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "pk", "athlete", "race", "method", "status", "amount", "currency", "platform_fee",
        "refunded_amount", "created_at", "paid_at",
    ]  # fmt: skip
    list_display_links = ["pk", "athlete"]
    list_select_related = ["registration__race__event"]
    list_filter = ["status", "method", EventFilter]
    search_fields = [
        "registration__last_name", "registration__first_name", "registration__email",
        "stripe_payment_intent", "stripe_session_id",
    ]  # fmt: skip
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "registration", "method", "status", "amount", "currency", "platform_fee",
        "refunded_amount", "stripe_session_id", "stripe_payment_intent", "created_at", "paid_at",
    )  # fmt: skip
    inlines = [MoneyLogInline]
    actions = ["mark_paid_on_site", "refund"]
    change_form_template = "payments/admin/payment_change_form.html"

    @admin.display(description="Athlete", ordering="registration__last_name")
    def athlete(self, obj: Payment) -> str:
        return obj.registration.name

    @admin.display(description="Race")
    def race(self, obj: Payment) -> str:
        return str(obj.registration.race)

    # Staff take money at the desk; giving it back is for owners and admins.
    payments_roles = EDIT_ROLES
    refund_roles = MANAGE_ROLES

    def has_payments_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.payments_roles)

    def has_refund_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.refund_roles)

    @admin.action(description="Mark paid on site", permissions=["payments"])
    def mark_paid_on_site(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        settled = sum(payment_settle_on_site(payment=p, actor=request.user) for p in queryset)
        self.message_user(request, f"{settled} payment(s) marked paid on site.", messages.SUCCESS)

    @admin.action(description="Refund the selected payment…", permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Pick one payment to refund.", messages.WARNING)
            return None
        return redirect("admin:payments_payment_refund", queryset.get().pk)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.refund_view)
        own = [path("<int:object_id>/refund/", view, name="payments_payment_refund")]
        return own + super().get_urls()

    def refund_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        payment = self.get_object(request, str(object_id))
        if payment is None:
            raise Http404("No such payment.")
        if not self.has_refund_permission(request, payment):
            raise PermissionDenied
        staff = is_platform_staff(request.user)
        form = RefundForm(request.POST or None, payment=payment, staff=staff)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                refund_create(
                    payment=payment, amount=data["amount"], reason=data["reason"],
                    actor=request.user, reverse_transfer=data.get("reverse_transfer", True),
                    refund_application_fee=data.get("refund_application_fee", True),
                    key=data["key"],
                )  # fmt: skip
            except (RefundError, stripe.PaymentProviderError) as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Refunded {data['amount']} {payment.currency}.")
                return redirect("admin:payments_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "form": form,
            "payment": payment, "refundable": refundable(payment),
            "title": f"Refund payment {payment.pk}",
        }  # fmt: skip
        status = 400 if form.errors else 200
        return TemplateResponse(request, "payments/admin/refund.html", context, status=status)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        payment = self.get_object(request, object_id)
        can_refund = bool(
            payment and refundable(payment) and self.has_refund_permission(request, payment)
        )
        extra = {**(extra_context or {}), "can_refund": can_refund}
        return super().change_view(request, object_id, form_url, extra)


@admin.register(Refund)
class RefundAdmin(ReadOnlyScopedAdmin):
    list_display = ["pk", "payment", "amount", "reason", "created_by", "created_at"]
    list_select_related = ["payment", "created_by"]
    search_fields = ["reason", "stripe_refund_id", "payment__registration__last_name"]
    date_hierarchy = "created_at"


@admin.register(MoneyLog)
class MoneyLogAdmin(ReadOnlyScopedAdmin):
    list_display = ["created_at", "organizer", "action", "amount", "currency", "payment", "actor"]
    list_select_related = ["organizer", "payment", "actor"]
    list_filter = ["action", "currency", "organizer"]
    date_hierarchy = "created_at"
    change_list_template = "payments/admin/moneylog_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.fee_report_view)
        return [path("fees/", view, name="payments_fee_report"), *super().get_urls()]

    def fee_report_view(self, request: HttpRequest) -> HttpResponse:
        """Platform fees per organizer: all organizers for platform staff, one's own otherwise."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request), "opts": self.opts,
            "title": "Platform fees per organizer", "rows": fee_report(user=request.user),
        }  # fmt: skip
        return TemplateResponse(request, "payments/admin/fee_report.html", context)


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(ReadOnlyScopedAdmin):
    """Stripe accounts: onboarding and balances, for an organizer's owners and admins."""

    list_display = fields = readonly_fields = (
        "organizer", "stripe_id", "charges_enabled", "payouts_enabled", "details_submitted",
        "disconnected_at", "updated_at",
    )  # fmt: skip
    list_select_related = ["organizer"]
    change_list_template = "payments/admin/connectedaccount_change_list.html"
    change_form_template = "payments/admin/connectedaccount_change_form.html"

    # Not even listed to staff: an account's state and balance are the managers' business.
    view_roles = MANAGE_ROLES

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("onboard/<int:organizer_id>/", wrap(self.onboard_view), name="payments_onboard"),
            path(
                "onboard/<int:organizer_id>/done/",
                wrap(self.onboard_return_view),
                name="payments_onboard_return",
            ),
            *super().get_urls(),
        ]

    def _organizer(self, request: HttpRequest, organizer_id: int) -> Organizer:
        organizer = get_object_or_404(
            scope_to_user(Organizer.objects.all(), request.user), pk=organizer_id
        )
        if not has_role_for(request.user, organizer, MANAGE_ROLES):
            raise PermissionDenied
        return organizer

    def onboard_view(self, request: HttpRequest, organizer_id: int) -> HttpResponse:
        """Off to Stripe's onboarding (POST from the button; GET when Stripe's link expired)."""
        organizer = self._organizer(request, organizer_id)
        back = reverse("admin:payments_connectedaccount_changelist")
        if not stripe.available():
            self.message_user(request, "Stripe is not configured on this platform.", messages.ERROR)
            return redirect(back)
        here = request.build_absolute_uri
        try:
            url = onboarding_url(
                organizer=organizer,
                refresh_url=here(reverse("admin:payments_onboard", args=[organizer.pk])),
                return_url=here(reverse("admin:payments_onboard_return", args=[organizer.pk])),
            )
        except stripe.PaymentProviderError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(back)
        return HttpResponseRedirect(url, status=303)

    def onboard_return_view(self, request: HttpRequest, organizer_id: int) -> HttpResponse:
        """Back from Stripe: read the account's state now rather than wait for the webhook."""
        organizer = self._organizer(request, organizer_id)
        account = get_object_or_404(ConnectedAccount, organizer=organizer)
        try:
            account = account_refresh(account=account)
        except stripe.PaymentProviderError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            ready = "can take card payments" if account.charges_enabled else "is not complete yet"
            if account.disconnected_at is not None:
                ready = "is no longer known to Stripe: onboard again to connect a new one"
            self.message_user(request, f"The Stripe account of {organizer} {ready}.")
        return redirect("admin:payments_connectedaccount_changelist")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        managed = Organizer.objects.filter(pk__in=organizer_ids(request.user, MANAGE_ROLES))
        onboarding = [
            (org, getattr(org, "stripe_account", None))
            for org in managed.select_related("stripe_account")
        ]
        extra = {
            **(extra_context or {}),
            "onboarding": onboarding,
            "stripe_available": stripe.available(),
        }
        return super().changelist_view(request, extra)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        account = self.get_object(request, object_id)
        extra: dict[str, Any] = {**(extra_context or {}), "balance": None, "balance_error": ""}
        if account is not None and self.has_view_permission(request, account):
            try:
                extra["balance"] = account_balance(account=account)
            except stripe.PaymentProviderError as exc:
                extra["balance_error"] = str(exc)
        return super().change_view(request, object_id, form_url, extra)
