"""Hand-written routing exemplars: the training data of the shipped learned router.

Written for this kit (no benchmark prompt is among them). Label 1: a small open model is
expected to fall short of a frontier model (multi-step word problems, proofs, probability,
code, logic puzzles, exact-constraint writing, technical derivations). Label 0: it is expected
to do as well (chat, stories, poems, emails, advice, role-play, one-step sums).
`hybrid-ai router train --out app/hybrid_ai/router/learned_model.py` refits the shipped model
from these alone.
"""

EXEMPLARS: list[tuple[int, str]] = [
    (0, "Write a short poem about autumn leaves falling in a quiet park."),
    (0, "Compose a friendly email inviting my neighbours to a summer barbecue on Saturday."),
    (0, "Give me five ideas for a birthday party theme for a seven-year-old."),
    (0, "Pretend you are a pirate captain and greet your new crew."),
    (0, "Summarize the plot of Romeo and Juliet in a paragraph."),
    (0, "Translate 'good morning, how are you?' into Spanish and French."),
    (0, "What is the capital of Australia?"),
    (0, "Suggest a name for a cozy coffee shop near a university."),
    (0, "Write a motivational message for a friend who is starting a new job."),
    (0, "Describe a sunset over the ocean in vivid language."),
    (0, "Rewrite this sentence to sound more formal: hey, can u send me the report asap?"),
    (0, "Act as a travel guide and recommend three things to do in Lisbon."),
    (0, "Write a tweet announcing our bakery's new cinnamon rolls."),
    (0, "Hi! How are you today?"),
    (0, "Tell me a fun fact about octopuses."),
    (0, "Write a thank-you note to a teacher who helped me prepare for exams."),
    (0, "Brainstorm slogans for a campaign encouraging people to recycle."),
    (0, "Imagine you are a medieval knight writing a letter home. What do you say?"),
    (0, "What are some tips for getting better sleep?"),
    (0, "Describe the main character of a fantasy novel in three sentences."),
    (0, "Write a product description for a handmade ceramic mug."),
    (0, "Suggest a weekly meal plan for a vegetarian family."),
    (0, "Give me a short speech to open a community garden."),
    (0, "Who wrote Pride and Prejudice?"),
    (0, "Explain what photosynthesis is in simple terms for a child."),
    (0, "What is the difference between weather and climate?"),
    (0, "Write a haiku about morning coffee."),
    (0, "Recommend three classic films for a rainy weekend and say why."),
    (0, "Draft a polite message declining a meeting invitation."),
    (0, "List some common houseplants that are easy to care for."),
    (0, "Write a dialogue between a cat and a dog arguing about who is the better pet."),
    (0, "Describe your favourite season and why you like it."),
    (0, "Give me a persuasive paragraph on why people should read more books."),
    (0, "What are the benefits of regular exercise?"),
    (0, "Write a lullaby for a baby elephant."),
    (0, "Pretend to be a customer service agent and apologize for a late delivery."),
    (0, "Outline the history of the printing press in a few paragraphs."),
    (0, "What does a project manager do?"),
    (0, "Tom has 3 apples and buys 4 more. How many apples does he have now?"),
    (0, "A shirt costs $12. How much do 2 shirts cost?"),
    (0, "Lucy reads 10 pages a day. How many pages does she read in 5 days?"),
    (
        0,
        ("There are 24 students and 6 tables. How many students sit at each table if they are shared equally?"),
    ),
    (0, "What is 15 plus 27?"),
    (0, "A box holds 8 pencils. How many pencils are in 3 boxes?"),
    (0, "Sam had 20 stickers and gave 5 to his sister. How many stickers does Sam have left?"),
    (0, "A train travels 60 miles in one hour. How far does it go in two hours?"),
    (0, "Mia buys a book for $9 and pays with a $20 bill. How much change does she get?"),
    (0, "A farmer has 12 cows and buys 8 more. How many cows does he have?"),
    (0, "Convert 3 kilometres to metres."),
    (
        0,
        ("Extract the names of the people mentioned in this sentence: Anna met Carlos and Priya at the station."),
    ),
    (
        0,
        (
            "Classify the sentiment of this review as positive or negative: The food was delicious and "
            "the staff were kind."
        ),
    ),
    (0, "What is the boiling point of water at sea level?"),
    (0, "Explain what a noun is with two examples."),
    (0, "Write a short horror story that takes place in an abandoned lighthouse."),
    (0, "You are a fitness coach. Suggest a warm-up routine before running."),
    (0, "Write a blog post introduction about minimalist living."),
    (0, "Describe how to make a cup of tea."),
    (0, "What are three interesting things to see in Kyoto?"),
    (0, "Compose a limerick about a forgetful wizard."),
    (0, "Give me a catchy title for a podcast about gardening."),
    (
        1,
        (
            "A store sells pens at 3 for $2 and notebooks at $4.50 each. Maria buys 12 pens and 5 "
            "notebooks, then uses a 15% discount coupon on the total. She pays with a $50 bill. How "
            "much change does she receive?"
        ),
    ),
    (
        1,
        (
            "A tank is filled by one pipe in 6 hours and emptied by another in 9 hours. If both are "
            "open and the tank starts one third full, how many hours until it is full?"
        ),
    ),
    (
        1,
        (
            "Jake earns $18 per hour for the first 40 hours each week and time and a half for overtime."
            " Last week he worked 47 hours and paid 12% of his earnings in tax and $35 for transport. "
            "How much did he keep?"
        ),
    ),
    (
        1,
        (
            "A bakery made 240 cookies. It sold 3/8 of them in the morning and 40% of the remainder in "
            "the afternoon. Then 18 were given away. How many cookies are left?"
        ),
    ),
    (
        1,
        (
            "Three friends share a rent of $2,100. Ana pays twice as much as Ben, and Ben pays $150 "
            "more than Chloe. How much does each pay?"
        ),
    ),
    (
        1,
        (
            "A car travels the first 120 km at 80 km/h and the next 200 km at 100 km/h, then stops for "
            "30 minutes, and drives the last 90 km at 60 km/h. What is its average speed for the whole "
            "trip including the stop?"
        ),
    ),
    (
        1,
        (
            "Lena saves $25 every week. Each month (4 weeks) she spends half of what she saved that "
            "month on books, and at the end of 6 months her grandmother doubles whatever is left. How "
            "much does she have?"
        ),
    ),
    (
        1,
        (
            "A school has 480 students. 5/12 of them are in the lower grades, a quarter of the rest "
            "play an instrument, and of those, 20% play the violin. How many students play the violin?"
        ),
    ),
    (
        1,
        (
            "A shop raised the price of a jacket by 20% and later cut the new price by 25%. If the "
            "final price is $81, what was the original price, and what was the percentage change "
            "overall?"
        ),
    ),
    (
        1,
        (
            "Oliver is 4 times as old as his daughter. In 20 years he will be twice as old as her. How "
            "old is each of them now, and how old was Oliver when she was born?"
        ),
    ),
    (1, "Find all integer solutions of x^2 - 5x + 6 = 0 and then compute the sum of their squares."),
    (1, "Prove that the square root of 3 is irrational."),
    (
        1,
        ("What is the probability of getting at least two heads when a fair coin is tossed five times?"),
    ),
    (1, "Find the area of a triangle with vertices at (1, 2), (4, -3) and (-2, 5)."),
    (1, "Solve the system: 3x + 2y = 16 and 5x - 4y = 2. Then give x*y."),
    (1, "How many positive integers less than 500 are divisible by 3 or 7 but not by both?"),
    (1, "Compute the derivative of f(x) = x^3 ln(x) and find where it equals zero."),
    (
        1,
        (
            "A bag holds 5 red, 4 blue and 3 green marbles. Two are drawn without replacement. What is "
            "the probability they are different colours?"
        ),
    ),
    (
        1,
        ("If the sum of three consecutive odd integers is 141, what is the product of the smallest and the largest?"),
    ),
    (1, "Evaluate the integral of x e^(2x) from 0 to 1."),
    (
        1,
        (
            "Write a Python function that returns the longest palindromic substring of a string in "
            "O(n^2) time, with tests."
        ),
    ),
    (1, "Implement an LRU cache class in Java with get and put in O(1) time."),
    (
        1,
        (
            "Here is my code:\n```python\ndef avg(xs):\n    return sum(xs) / len(xs)\n```\nWhy does it crash"
            " sometimes, and how would you fix it?"
        ),
    ),
    (
        1,
        (
            "Write a SQL query that returns, for each department, the employee with the third highest "
            "salary, handling ties."
        ),
    ),
    (
        1,
        ("Implement Dijkstra's algorithm in C++ using a priority queue and explain its time complexity."),
    ),
    (1, "Write a regular expression that matches valid IPv4 addresses and explain each part."),
    (
        1,
        ("Write a program to find the median of two sorted arrays of different sizes in logarithmic time."),
    ),
    (
        1,
        (
            "Debug this JavaScript: the function is supposed to debounce calls but fires every time.\n"
            "```js\nfunction debounce(f, ms) { let t; return () => { clearTimeout(t); t = "
            "setTimeout(f(), ms); }; }\n```"
        ),
    ),
    (
        1,
        (
            "Design a rate limiter for an API that allows 100 requests per minute per user, and write "
            "the core logic in Python."
        ),
    ),
    (
        1,
        (
            "Write a recursive function to generate all permutations of a list without duplicates when "
            "the list has repeated items."
        ),
    ),
    (
        1,
        (
            "Five people stand in a line. Ana is not at either end, Ben is directly right of Carla, and"
            " Dev is somewhere left of Ana. Eve is last. Which orders are possible?"
        ),
    ),
    (
        1,
        (
            "All bloops are razzies and some razzies are lazzies. Can we conclude that some bloops are "
            "lazzies? Explain your reasoning."
        ),
    ),
    (
        1,
        (
            "A man looks at a photo and says: my father's only son is this person's father. Who is in "
            "the photo? Reason step by step."
        ),
    ),
    (1, "What is the next number in the sequence 2, 6, 12, 20, 30, ...? Justify the pattern."),
    (
        1,
        (
            "Three boxes are labelled apples, oranges and mixed, and every label is wrong. You may take"
            " one fruit from one box. How do you relabel all boxes correctly?"
        ),
    ),
    (
        1,
        (
            "If it takes 5 machines 5 minutes to make 5 widgets, how long would 100 machines take to "
            "make 100 widgets? Explain."
        ),
    ),
    (
        1,
        ("A clock shows 3:15. What is the angle between the hour and the minute hands? Show the steps."),
    ),
    (
        1,
        (
            "Suppose every statement on this card is false: 'Exactly one statement here is true.' "
            "'Exactly two are false.' Which are consistent? Reason carefully."
        ),
    ),
    (
        1,
        (
            "Write a sonnet about the ocean in which every line starts with the letter S and the rhyme "
            "scheme is exactly ABAB CDCD EFEF GG."
        ),
    ),
    (
        1,
        (
            "Given the following text, extract every date and amount and return them as JSON with keys "
            "date and amount, sorted by date: On 3 May we paid 120 euros; on 1 April, 80 euros; and on "
            "12 June, 45.50 euros."
        ),
    ),
    (
        1,
        (
            "Explain how a transistor works as an amplifier, including the role of biasing and the "
            "relation between base current and collector current."
        ),
    ),
    (
        1,
        ("Derive the formula for the period of a simple pendulum for small angles and state the assumptions."),
    ),
    (
        1,
        (
            "A 2 kg block slides down a 30 degree incline with friction coefficient 0.2. What is its "
            "acceleration, and how far does it travel in 3 seconds from rest?"
        ),
    ),
    (
        1,
        (
            "Balance the chemical equation for the combustion of propane and compute the mass of CO2 "
            "produced by burning 88 g of propane."
        ),
    ),
    (
        1,
        ("Compare the time and space complexity of quicksort and mergesort, and explain when each is preferable."),
    ),
    (
        1,
        (
            "A company's revenue grew from $2.4M to $3.1M over 3 years. What was the compound annual "
            "growth rate, and what will revenue be in 2 more years at the same rate?"
        ),
    ),
    (
        1,
        ("A rectangle's length is 3 cm more than twice its width, and its perimeter is 54 cm. Find its area."),
    ),
    (
        1,
        (
            "In a class, the ratio of boys to girls is 4:5. After 6 boys join, the ratio becomes 1:1. "
            "How many students were there originally?"
        ),
    ),
    (
        1,
        (
            "A recipe for 6 servings needs 2 1/4 cups of flour and 3/4 cup of sugar. Nina wants 10 "
            "servings but has only 3 cups of flour. How many servings can she make, and how much sugar "
            "does that need?"
        ),
    ),
    (
        1,
        (
            "Each of 4 workers packs 35 boxes an hour. After 3 hours, 2 workers leave and the rest slow"
            " down by 20%. How many more hours are needed to pack 900 boxes in total?"
        ),
    ),
    (
        1,
        (
            "Rosa bought 3 dozen eggs at $0.25 each. A sixth of them broke, she used 8 for a cake, and "
            "she sold the rest at $0.40 each. What was her profit or loss?"
        ),
    ),
    (0, "Peter has 7 marbles and finds 6 more. How many marbles does he have?"),
    (0, "A pizza has 8 slices. Ann eats 3. How many slices are left?"),
    (0, "Each bag has 5 oranges. How many oranges are in 4 bags?"),
    (0, "Kim walks 2 miles every day. How many miles does she walk in a week?"),
    (0, "A movie ticket costs $9. How much do tickets for a family of 4 cost?"),
    (0, "Write a cheerful greeting card message for a colleague's retirement."),
    (0, "Give me a packing list for a weekend camping trip."),
    (0, "What are the main causes of the French Revolution, in brief?"),
    (0, "Tell me about the culture and food of Morocco."),
    (0, "Role-play as a friendly librarian helping me pick a mystery novel."),
    (0, "Pretend you are a chemistry teacher and welcome your students on the first day of class."),
    (0, "You are a famous physicist at a dinner party. Chat with me about your favourite food."),
    (0, "Act as a statistics professor and encourage a nervous student before the exam."),
    (0, "Imagine yourself as an old lighthouse keeper. How do you feel when a storm arrives?"),
    (0, "Play the role of a software architect giving a pep talk to a new team."),
    (0, "In the style of a sports commentator, describe a cat chasing a laser pointer."),
    (0, "Stay in character as a grumpy wizard and answer: what do you think of dragons?"),
    (0, "You are a detective in 1920s London. Introduce yourself to a new client."),
    (0, "Suppose you are a tour guide in Rome. Greet the group and describe the plan for the day."),
    (0, "Embrace the persona of a medieval bard and sing the praises of a humble baker."),
    (
        1,
        (
            "Statement one: all painters in the club are left-handed. Statement two: Mara is in the "
            "club. Statement three: Mara is left-handed. Is the third statement true, false, or "
            "uncertain? Explain."
        ),
    ),
    (1, "Which word is the odd one out: violin, cello, trumpet, viola? Explain the rule you used."),
    (
        1,
        (
            "P is the mother of Q. Q is the sister of R, and R is the father of S. What is the "
            "relationship between P and S?"
        ),
    ),
    (
        1,
        (
            "Walking north, I turn right, then right again, then left. Which direction am I facing now?"
            " Show your reasoning."
        ),
    ),
    (
        1,
        (
            "Four suspects each make one statement and exactly one of them lies. Ann says Ben did it; "
            "Ben says Dan did it; Cal says he did not; Dan says Ben lies. Who did it?"
        ),
    ),
    (
        1,
        (
            "Given the clues, work out who owns the fish: the green house is left of the white one, the"
            " Swede keeps dogs, and the owner of the middle house drinks milk."
        ),
    ),
    (1, "Which one does not belong and why: square, triangle, cube, circle?"),
    (
        1,
        (
            "A ball and a bat cost $1.10 together, and the bat costs $1.00 more than the ball. How much"
            " does the ball cost? Explain carefully."
        ),
    ),
    (
        1,
        (
            "A gardener plants 5 rows of 12 tulips. A third of the tulips are red, and half of the rest"
            " are yellow. If 6 of the yellow tulips die, what fraction of the surviving tulips are "
            "yellow?"
        ),
    ),
    (
        1,
        (
            "Hannah's phone plan charges $20 a month plus $0.05 per text after the first 300. In March "
            "she sent 12 texts a day for 31 days. Her brother's plan is $35 flat. How much more or less"
            " did she pay than her brother?"
        ),
    ),
    (
        1,
        (
            "A pool holds 18,000 gallons. It is 40% full. A hose adds 600 gallons an hour while a leak "
            "loses 75 gallons an hour. How many hours until the pool is 90% full?"
        ),
    ),
    (0, "Ella has 14 stamps. Her friend gives her 9. How many stamps does she have now?"),
    (0, "A pack of gum has 10 pieces. How many pieces are in 6 packs?"),
    (0, "Ben ran 3 miles on Monday and 4 miles on Tuesday. How far did he run in total?"),
]
