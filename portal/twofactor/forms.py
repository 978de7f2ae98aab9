from django import forms

from . import services


class CodeField(forms.CharField):
    def to_python(self, value):
        return services.normalise_code(super().to_python(value))


class EnrolForm(forms.Form):
    code = CodeField(label="Code from the app", max_length=20)

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not services.TOTP_CODE.fullmatch(code):
            raise forms.ValidationError("Enter the 6-digit code your app shows.")
        return code


class VerifyForm(forms.Form):
    code = CodeField(label="Code", max_length=20)

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not services.is_code_shaped(code):
            raise forms.ValidationError(
                "Enter the 6-digit code your app shows, or one of your 8-character backup codes."
            )
        return code
