"""B12 resumes: PDF and DOCX resumes for positions, with their text, parsed fields and versions."""
