"""Forms of the athlete's own pages: they parse input, the modules do the work."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings

from integrations.files import ActivityFileError, ParsedActivity, read_activity_file

# Last.fm usernames: 2 to 15 characters, a letter first, then letters, digits, - and _.
LASTFM_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{1,14}")


class LastfmForm(forms.Form):
    username = forms.CharField(label="Last.fm username", max_length=15)

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if not LASTFM_USERNAME.fullmatch(username):
            raise forms.ValidationError(
                "A Last.fm username has 2 to 15 letters, digits, - or _, a letter first."
            )
        return username


class UploadForm(forms.Form):
    file = forms.FileField(
        label="GPX, TCX or FIT file",
        widget=forms.ClearableFileInput(attrs={"accept": ".gpx,.tcx,.fit"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.ACTIVITY_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1e6:.1f} MB; files up to {limit / 1e6:.0f} MB are"
                " accepted."
            )
        raw = upload.read()
        try:
            self.parsed: ParsedActivity = read_activity_file(raw)
        except ActivityFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        self.raw = raw
        return upload


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label="Your password", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
