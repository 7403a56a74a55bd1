"""B17 Portfolio: a public profile with projects, skills, timelines, testimonials and a contact form."""
