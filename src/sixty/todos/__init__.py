"""B3 To-Do list: the Todo-Backend API (todobackend.com) at `/api/todos`, with open CORS on its own
routes and, for signed-in callers, lists of their own."""
