"""The files tables stand on their own: their statements are typed whatever was imported first."""

from __future__ import annotations

import subprocess
import sys


def test_owner_columns_are_typed_before_the_auth_tables_are_imported() -> None:
    code = (
        "import sys\n"
        "from sixty.files import models\n"
        "assert 'sixty.auth.models' not in sys.modules\n"
        "columns = [models.StoredFile.owner_id, models.Upload.owner_id, models.Folder.owner_id,\n"
        "           models.Share.owner_id, models.QuotaAccount.owner_id, models.QuotaHold.owner_id,\n"
        "           models.Resume.candidate_id]\n"
        "print(sorted({type(column.type).__name__ for column in columns}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['Uuid']"
